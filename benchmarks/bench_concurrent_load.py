"""Two concurrent `grade` runs of the reference zip, full size, with every core kept busy.

The scenario of issue #10: staff run graders side by side on a loaded machine. Each run must
score full marks: time limits are CPU seconds against the reference's own cost measured on this
machine (`grade calibrate-limits`, cached), so the load can slow a run down but never make it
"too slow". Prints each run's score and, per training case, the CPU and wall seconds it used and
its limits.

    python benchmarks/bench_concurrent_load.py                # one burner per core
    python benchmarks/bench_concurrent_load.py --burners 0    # the same without extra load
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.assignment import load_assignment  # noqa: E402


def reference_zip(folder: Path, assignment_id: str) -> Path:
    """The reference's versions of the submitted python files, as a student would zip them."""
    assignment = load_assignment(assignment_id)
    path = folder / "reference.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for spec in assignment.files:
            if spec.kind == "python":
                archive.write(assignment.reference_dir / spec.dest, spec.dest)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="hw5_cnn")
    parser.add_argument("--runs", type=int, default=2, help="concurrent grade processes")
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2, help="spinning processes (load)")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        zip_path = reference_zip(folder, args.assignment)
        started = time.monotonic()
        calibrate = subprocess.run([sys.executable, "-m", "autograder", "calibrate-limits", "-a", args.assignment],
                                   env=env, capture_output=True, text=True, check=True)  # fmt: skip
        print(f"calibrate-limits ({time.monotonic() - started:.0f} s, cached figures are reused):")
        print(calibrate.stdout)
        burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burners)]
        try:
            started = time.monotonic()
            runs = [subprocess.Popen([sys.executable, "-m", "autograder", "zip", str(zip_path), "-a", args.assignment,
                                      "--json", str(folder / f"run{n}.json"), "--no-notebook", "--seed", str(n)],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                    for n in range(args.runs)]  # fmt: skip
            codes = [run.wait() for run in runs]
            elapsed = time.monotonic() - started
        finally:
            for burner in burners:
                burner.kill()
                burner.wait()
        print(f"{args.runs} concurrent grade runs with {args.burners} CPU burners on {os.cpu_count()} cores: "
              f"{elapsed:.0f} s wall, exit codes {codes}")  # fmt: skip
        full = True
        for n in range(args.runs):
            result = json.loads((folder / f"run{n}.json").read_text())
            full &= result["score"] == result["max_score"]
            print(f"run {n}: {result['score']:g}/{result['max_score']:g}  "
                  + "  ".join(f"{q['id']} {q['score']:g}/{q['max_score']:g}" for q in result["questions"]))  # fmt: skip
            for question in result["questions"]:
                for case in question["cases"]:
                    if case["params"].get("num_train"):
                        t = case["time"]
                        print(f"  {case['name']}: {case['status']}, value {case['value']}, CPU {t['cpu_s']} s of "
                              f"{t['cpu_limit_s']} s (reference {t['reference_cpu_s']} s), wall {t['wall_s']} s "
                              f"(net {t['wall_limit_s']} s, busy cap {t['busy_wall_limit_s']} s)")  # fmt: skip
        return 0 if full and not any(codes) else 1


if __name__ == "__main__":
    sys.exit(main())
