"""Grading speed: sandbox start overhead, and one reference zip graded without and with training.

Targets on 2 cores: <= 50 ms added per sandbox start over a bare `python -c pass` (issue 3);
<= 3 s for all questions but the training target, the notebook left out (issue 11); with the
training target and the notebook, <= the epoch + 15 s (issue 11), where the epoch is the one the
grader runs: the training case's own sandbox run (one BLAS thread, as the declaration says).

The grader measures the reference's CPU cost of every group once per machine and code version
(`grade calibrate-limits`, or lazily at the first grading) and caches it. The benchmark uses a
fresh cache, times that one-time measurement on its own rows, and then times grading as every
later submission sees it. The zip holds the reference's graded files and its notebook. Run alone
(`python benchmarks/bench_grading.py [--no-training]`) or through run_all.py.
"""

from __future__ import annotations

import argparse
import dataclasses
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
from autograder.grading.run import RunOptions, calibrate_limits, grade_zip  # noqa: E402
from autograder.sandbox.command import bwrap_command, bwrap_path, sandbox_uid  # noqa: E402

Row = tuple[str, float, str, str]
GRADING_SLACK_S = 15  # one zip with the training target: <= its epoch + 15 s


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


def grade_reference(training: bool, notebook: bool, cache: Path) -> tuple[float, dict]:
    assignment = load_assignment("hw5_cnn")
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = reference_zip(assignment, Path(tmp) / "submit.zip")
        start = time.perf_counter()
        result = grade_zip(zip_path, assignment, _options(training, notebook, cache)).to_json()
        return time.perf_counter() - start, result


def measure_reference_costs(training: bool, cache: Path) -> float:
    """Seconds of the one-time measurement of the reference's cost (what `grade calibrate-limits` does)."""
    assignment = load_assignment("hw5_cnn")
    options = _options(training, False, cache)
    if training:  # the other groups are cached by then: only the training question's group is measured
        options = dataclasses.replace(options, only=("Q5",))
    start = time.perf_counter()
    calibrate_limits(assignment, options)
    return time.perf_counter() - start


def _options(training: bool, notebook: bool, cache: Path) -> RunOptions:
    return RunOptions(seed=1, skip_groups=() if training else ("train",), parallel=os.cpu_count() or 2,
                      run_notebook=notebook, cache_dir=cache)  # fmt: skip


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
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = Path(cache_dir)
        seconds = measure_reference_costs(training=False, cache=cache)
        table.append(("reference costs, all but training (once per machine)", seconds, "s", "grade calibrate-limits"))
        seconds, result = grade_reference(training=False, notebook=False, cache=cache)
        table.append(("grade reference zip, no training, no notebook", seconds, "s", f"<= 3 (load {os.getloadavg()[0]:.1f})"))
        table.append(("  score", result["score"], "points", f"= {result['max_score'] - 10:g} (training left out)"))
        if training:
            _training_rows(table, cache)
    own, children = _peak_mib()
    table.append(("peak memory, grader process", own, "MiB", ""))
    table.append(("peak memory, largest sandboxed child", children, "MiB", ""))


def _training_rows(table: list[Row], cache: Path) -> None:
    seconds = measure_reference_costs(training=True, cache=cache)
    table.append(("reference cost of the training group (once)", seconds, "s", "grade calibrate-limits"))
    seconds, result = grade_reference(training=True, notebook=True, cache=cache)
    table.append((f"grade reference zip, training + notebook ({result['data']})", seconds, "s",
                  f"<= epoch + 15 (load {os.getloadavg()[0]:.1f})"))  # fmt: skip
    train = next(c for q in result["questions"] for c in q["cases"] if "training accuracy" in c["name"])
    table.append(("  1-epoch training accuracy (fixed sample)", train["value"] or 0.0, "", f">= {train['threshold']}"))
    table.append(("  score", result["score"], "points", f"= {result['max_score']:g}"))
    table.append(("  its epoch: the training case's sandbox run", train["time"]["wall_s"], "s",
                  f"CPU {train['time']['cpu_s']:.1f} s, 1 BLAS thread"))  # fmt: skip
    table.append(("  notebook run beside it", result["notebook"]["elapsed_s"], "s", result["notebook"]["status"]))
    for question in result["questions"]:
        table.append((f"  {question['id']} sandbox runs", question["duration_s"], "s", ""))
    table.append(("  grading beyond its epoch", seconds - train["time"]["wall_s"], "s", f"<= {GRADING_SLACK_S}"))


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
