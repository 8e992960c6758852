"""Every speed and memory figure of the project, measured in one run and printed side by side.

    python benchmarks/run_all.py [--quick]

Rows: the HW5 training epoch (seed cell 17) beside the GEMM peak, FLOP count, BLAS floor and
ratio, Adam against its bandwidth bound, and the epoch's peak memory (bench_epoch.py, in its own
process); sandbox start overhead; grading one reference zip without the training target and the
notebook, and with both, against the training case's own sandbox run (the reference's costs
measured once beforehand, on rows of their own); the notebook run against the same
cells in plain python (bench_notebook.py); batch throughput for 1, 2 and N workers on the local
pool and Dask, with scaling efficiency and Dask's overhead. Every target is printed beside its
figure. `--quick` leaves out the two 49,000-image runs. With CS231N_PACKAGE naming a folder that
holds a built, completed cs231n assignment-2 package (not part of this repository, never
committed), the course code's Solver step is timed the same way and printed beside ours.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_batch  # noqa: E402
import bench_grading  # noqa: E402
import bench_notebook  # noqa: E402

COURSE_CODE_ENV = "CS231N_PACKAGE"  # a folder holding a built, completed cs231n package (assignment 2)


def epoch_rows(table: list) -> None:
    """The epoch benchmark's rows (it runs in its own process so that its peak memory is its own)."""
    table.extend(_bench_epoch_rows([]))
    course = os.environ.get(COURSE_CODE_ENV)
    if course:
        ours = next(value for name, value, _, _ in table if name == "Solver step (median of blocks)")
        theirs = next(value for name, value, _, _ in _bench_epoch_rows(
            ["--package", course, "--package-name", "cs231n", "--epochs", "0", "--side-by-side", "0"])
            if name == "Solver step (median of blocks)")  # fmt: skip
        table.append(("cs231n course code: Solver step (median)", theirs, "ms", f"{COURSE_CODE_ENV}={course}"))
        table.append(("  ratio course code / this package", theirs / ours, "x", ""))


def _bench_epoch_rows(arguments: list[str]) -> list[tuple]:
    out = subprocess.run([sys.executable, str(HERE / "bench_epoch.py"), "--json", *arguments], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return [tuple(r) for r in json.loads(out.stdout.strip().splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the 49,000-image runs")
    quick = parser.parse_args().quick
    table: list = []
    if not quick:
        epoch_rows(table)
    bench_grading.run(table, training=not quick)
    bench_notebook.run(table)
    bench_batch.run(table)
    bench_grading.print_table(table)


if __name__ == "__main__":
    main()
