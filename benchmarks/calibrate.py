"""Calibrates the training targets: the reference's training items over many seeds and BLAS threads.

For every Q5 case judged by a training judge (overfit, 1-epoch accuracy), the script runs exactly
what the grader runs, minus the sandbox: the case's probe builds the inputs, the driver's task
trains the reference package (the given Solver) with the case's parameters and one np.random seed,
and the case's judge measures the accuracy it would compare with the target. Each BLAS-thread
setting runs in a child process (OpenBLAS reads its thread count when numpy is first imported).
Every run appends one JSON line to the log, so a long calibration can be read while it runs and
resumed after a stop (runs already in the log are skipped).

    python benchmarks/calibrate.py run --source embedded --seeds 0-9,231 --threads 1,2
    python benchmarks/calibrate.py table            # markdown table from the log, with margins

A correct student network draws its weights in its own order, so the seeds stand for the spread
of initialisations a correct submission meets; BLAS threads change the order of floating-point
sums and with it the whole trajectory.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

from calibration_log import read_log, run_missing

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOG = ROOT / "benchmarks" / "calibration-runs.jsonl"
TRAINING_JUDGES = {"overfit": "overfit_accuracy", "train_accuracy": "train_accuracy"}


def parse_seeds(text: str) -> list[int]:
    """'0-9,231' -> [0, ..., 9, 231]."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += range(int(lo), int(hi or lo) + 1)
    return seeds


# ------------------------------------------------------------------ worker (one BLAS setting)


def _training_cases(assignment):
    return [c for q in assignment.questions for c in q.cases if c.judge in TRAINING_JUDGES]


def worker(source: str, seeds: list[int], threads: int, items: list[str], log: Path) -> None:
    """Runs every (item, seed) not yet in the log, appending one JSON line per run."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from autograder.assignment import load_assignment
    from autograder.grading.run import GradingContext

    assignment = load_assignment("hw5_cnn")
    checks, driver = assignment.checks(), runpy.run_path(str(assignment.driver_path))
    context = GradingContext(assignment, seed=0, data=source)
    label = checks.describe_data(context)
    cases = {c.judge: c for c in _training_cases(assignment) if c.judge in items}

    def measure(key: dict) -> dict:
        case, seed = cases[key["item"]], key["seed"]
        params = {**case.params, "seed": seed}
        inputs = getattr(checks, case.probe)(params, np.random.default_rng(0), context)
        expected = getattr(checks, "expect_" + case.expect)(inputs, params, context)
        start = time.perf_counter()
        outputs = driver[case.task](inputs, params)
        seconds = time.perf_counter() - start
        verdict = getattr(checks, case.judge)(outputs, expected, case, context)
        losses = outputs["loss_history"]
        return {
            "source": label, "item": case.judge, "seed": seed, "threads": threads,
            "accuracy": verdict.value, "held_out": (verdict.extras or {}).get("held_out_accuracy"),
            "final_loss": float(np.mean(losses[-20:])), "finite": bool(np.all(np.isfinite(losses))),
            "seconds": round(seconds, 1), "load": round(os.getloadavg()[0], 2),
            "train_images": int(len(inputs["y_train"])),
        }  # fmt: skip

    keys = [{"source": label, "item": item, "seed": seed, "threads": threads} for item in cases for seed in seeds]
    run_missing(log, keys, measure, lambda row: print(json.dumps(row), flush=True))


def run_all(source: str, seeds: list[int], threads: list[int], items: list[str], log: Path) -> None:
    """One child process per BLAS-thread setting, one after the other (never two at once)."""
    for count in threads:
        env = {**os.environ, **{v: str(count) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
        argv = [sys.executable, __file__, "worker", "--source", source, "--threads", str(count),
                "--seeds", ",".join(map(str, seeds)), "--items", ",".join(items), "--log", str(log)]  # fmt: skip
        subprocess.run(argv, env=env, check=True)


# ------------------------------------------------------------------ table


def table(log: Path) -> str:
    """Per (data set, item, threads): runs, worst, median, best; and the target's margin."""
    sys.path.insert(0, str(ROOT))
    from autograder.assignment import load_assignment

    targets = load_assignment("hw5_cnn").data.targets
    rows = read_log(log)
    lines = ["| data | item | BLAS threads | runs | worst | median | best | target | margin below worst |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for source in dict.fromkeys(r["source"] for r in rows):
        for item, field in TRAINING_JUDGES.items():
            target = targets[source][field]
            picked = [r for r in rows if r["source"] == source and r["item"] == item]
            for threads in sorted({r["threads"] for r in picked}) + ["all"]:
                accs = sorted(r["accuracy"] for r in picked if threads == "all" or r["threads"] == threads)
                if not accs:
                    continue
                median = accs[len(accs) // 2] if len(accs) % 2 else (accs[len(accs) // 2 - 1] + accs[len(accs) // 2]) / 2
                lines.append(f"| {source} | {item} | {threads} | {len(accs)} | {accs[0]:.3f} | {median:.3f} | "
                             f"{accs[-1]:.3f} | {target:.2f} | {accs[0] - target:+.3f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("run", "worker", "table"))
    parser.add_argument("--source", default="embedded", help="embedded | cifar10-subset | cifar10 | folder")
    parser.add_argument("--seeds", default="0-9,231", help="np.random seeds, e.g. 0-9,231")
    parser.add_argument("--threads", default="1,2", help="BLAS thread counts, e.g. 1,2")
    parser.add_argument("--items", default=",".join(TRAINING_JUDGES), help="overfit,train_accuracy")
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG, help="JSON-lines log (appended, resumable)")
    args = parser.parse_args()
    seeds, items = parse_seeds(args.seeds), args.items.split(",")
    if args.mode == "table":
        print(table(args.log))
    elif args.mode == "worker":
        worker(args.source, seeds, int(args.threads), items, args.log)
    else:
        run_all(args.source, seeds, [int(t) for t in args.threads.split(",")], items, args.log)


if __name__ == "__main__":
    main()
