"""Grading speed: sandbox start overhead, and one reference zip graded without and with training.

Targets on 2 cores: <= 50 ms added per sandbox start over a bare `python -c pass` (issue 3);
<= 3 s for all questions but the training target, the notebook left out (issue 11); with the
training target and the notebook, <= the epoch + 15 s (issue 11: run_all.py compares it with
the epoch bench_epoch.py measures in the same run). The zip holds the reference's graded files
and its notebook. Run alone (`python benchmarks/bench_grading.py [--no-training]`) or through
run_all.py.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.assignment import Assignment, Limits, load_assignment  # noqa: E402
from autograder.grading.run import RunOptions, grade_zip  # noqa: E402
from autograder.sandbox.command import bwrap_command, bwrap_path, sandbox_uid  # noqa: E402

Row = tuple[str, float, str, str]


def _median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sandbox_overhead(runs: int = 30) -> tuple[float, float]:
    """Median wall time of `python -I -c pass`, bare and inside the full bwrap command."""
    bare = [sys.executable, "-I", "-c", "pass"]
    with tempfile.TemporaryDirectory() as tmp:
        task, package = Path(tmp, "task"), Path(tmp, "pkg")
        task.mkdir()
        package.mkdir()
        boxed = bwrap_command(task, package, "intro2ai", Limits(), sandbox_uid(4000), bare)
        _median_seconds(boxed, 3)  # warm the page cache
        return _median_seconds(bare, runs), _median_seconds(boxed, runs)


def graded_files(assignment: Assignment) -> list[tuple[Path, str]]:
    """(reference file, name in the zip) for every declared file, the notebook included."""
    return [(assignment.reference_dir / spec.dest, spec.name) for spec in assignment.files]


def reference_zip(assignment: Assignment, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for source, name in graded_files(assignment):
            archive.write(source, name)
    return path


def grade_reference(training: bool, notebook: bool) -> tuple[float, dict]:
    assignment = load_assignment("hw5_cnn")
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = reference_zip(assignment, Path(tmp) / "submit.zip")
        options = RunOptions(seed=1, skip_groups=() if training else ("train",), parallel=os.cpu_count() or 2,
                               run_notebook=notebook)  # fmt: skip
        start = time.perf_counter()
        result = grade_zip(zip_path, assignment, options).to_json()
        return time.perf_counter() - start, result


def _peak_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def run(table: list[Row], training: bool = True) -> None:
    if bwrap_path():
        bare, boxed = sandbox_overhead()
        table.append(("python -I -c pass, bare (median)", bare * 1000, "ms", ""))
        table.append(("... inside the bwrap sandbox (median)", boxed * 1000, "ms", ""))
        table.append(("sandbox start overhead", (boxed - bare) * 1000, "ms", "<= 50"))
    seconds, result = grade_reference(training=False, notebook=False)
    table.append(("grade reference zip, no training, no notebook", seconds, "s", f"<= 3 (load {os.getloadavg()[0]:.1f})"))
    table.append(("  score", result["score"], "points", f"= {result['max_score'] - 10:g} (training left out)"))
    if training:
        seconds, result = grade_reference(training=True, notebook=True)
        table.append((f"grade reference zip, training + notebook ({result['data']})", seconds, "s",
                      f"<= epoch + 15 (load {os.getloadavg()[0]:.1f})"))  # fmt: skip
        train = next(c for q in result["questions"] for c in q["cases"] if "training accuracy" in c["name"])
        table.append(("  1-epoch training accuracy (fixed sample)", train["value"] or 0.0, "", f">= {train['threshold']}"))
        table.append(("  score", result["score"], "points", f"= {result['max_score']:g}"))
        table.append(("  notebook run inside it", result["notebook"]["elapsed_s"], "s", result["notebook"]["status"]))
        for question in result["questions"]:
            table.append((f"  {question['id']} sandbox runs", question["duration_s"], "s", ""))
    own, children = _peak_mib()
    table.append(("peak memory, grader process", own, "MiB", ""))
    table.append(("peak memory, largest sandboxed child", children, "MiB", ""))


def print_table(table: list[Row]) -> None:
    print(f"machine: {os.cpu_count()} cores")
    width = max(len(r[0]) for r in table)
    for name, value, unit, target in table:  # a target starts with a comparison; anything else is a note
        label = "target " + target if target.startswith(("<", ">", "=")) else target
        shown = f"{value:10.3f}" if isinstance(value, (int, float)) else f"{value!s:>10}"  # a row may carry a word
        print(f"{name.ljust(width)}  {shown} {unit:7s} {label}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-training", action="store_true", help="leave out the 49,000-image training run")
    rows: list[Row] = []
    run(rows, training=not parser.parse_args().no_training)
    print_table(rows)
