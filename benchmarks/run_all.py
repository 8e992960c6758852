"""Every speed and memory figure of the project, measured in one run and printed side by side.

    python benchmarks/run_all.py [--quick]

Rows: the HW5 training epoch (seed cell 17) beside the GEMM peak, FLOP count, BLAS floor and
ratio, Adam against its bandwidth bound, and the epoch's peak memory (bench_epoch.py, in its own
process); sandbox start overhead; grading one reference zip without the training target and the
notebook, and with both, against the epoch measured here; the notebook run against the same
cells in plain python (bench_notebook.py); batch throughput for 1, 2 and N workers on the local
pool and Dask, with scaling efficiency and Dask's overhead. Every target is printed beside its
figure. `--quick` leaves out the two 49,000-image runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_batch  # noqa: E402
import bench_grading  # noqa: E402
import bench_notebook  # noqa: E402

GRADING_SLACK_S = 15  # one zip with the training target: <= its epoch + 15 s


def epoch_rows(table: list) -> float:
    """The epoch benchmark's rows (it runs in its own process so that its peak memory is its
    own); returns the best measured epoch in seconds."""
    out = subprocess.run([sys.executable, str(HERE / "bench_epoch.py"), "--json"], capture_output=True, text=True,
                         check=True)  # fmt: skip
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    table.extend(tuple(r) for r in rows)
    return next(value for name, value, _, _ in rows if name == "epoch measured (best)")


def grading_against_epoch(table: list, epoch_s: float) -> None:
    """The with-training grading time minus the epoch measured in this run."""
    name = next(r[0] for r in table if r[0].startswith("grade reference zip, training"))
    seconds = next(r[1] for r in table if r[0] == name)
    table.append(("  grading beyond the epoch", seconds - epoch_s, "s", f"<= {GRADING_SLACK_S}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the 49,000-image runs")
    quick = parser.parse_args().quick
    table: list = []
    epoch_s = None if quick else epoch_rows(table)
    bench_grading.run(table, training=not quick)
    if epoch_s is not None:
        grading_against_epoch(table, epoch_s)
    bench_notebook.run(table)
    bench_batch.run(table)
    bench_grading.print_table(table)


if __name__ == "__main__":
    main()
