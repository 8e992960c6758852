"""Every speed and memory figure of the project, measured in one run and printed side by side.

    python benchmarks/run_all.py [--quick]

Rows: sandbox start overhead; grading one reference zip without and with the training target;
the HW5 training epoch (seed cell 17) and the full-training-set accuracy check; batch throughput
for 1, 2 and N workers on the local pool and Dask, with scaling efficiency and Dask's overhead.
`--quick` leaves out the two 49,000-image runs.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_batch  # noqa: E402
import bench_grading  # noqa: E402

EPOCH_LINE = re.compile(
    r"epoch (?P<epoch>[\d.]+) s, full-training-set check_accuracy (?P<check>[\d.]+) s "
    r"\(accuracy (?P<acc>[\d.]+)\), peak RSS (?P<rss>[\d.]+) GiB"
)


def epoch_rows(table: list) -> None:
    """The epoch benchmark runs in its own process so that its peak memory is its own."""
    out = subprocess.run([sys.executable, str(HERE / "bench_epoch.py")], capture_output=True, text=True, check=True)
    match = EPOCH_LINE.search(out.stdout)
    if match is None:
        raise RuntimeError(f"bench_epoch.py printed no epoch line:\n{out.stdout}\n{out.stderr}")
    table.append(("HW5 epoch, 49,000 images (seed cell 17)", float(match["epoch"]), "s", "<= 30"))
    table.append(("full-training-set check_accuracy (cell 18)", float(match["check"]), "s", ""))
    table.append(("  training accuracy after the epoch", float(match["acc"]), "", ""))
    table.append(("epoch benchmark peak memory", float(match["rss"]) * 1024, "MiB", "<= 1536"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the 49,000-image runs")
    quick = parser.parse_args().quick
    table: list = []
    bench_grading.run(table, training=not quick)
    if not quick:
        epoch_rows(table)
    bench_batch.run(table)
    bench_grading.print_table(table)


if __name__ == "__main__":
    main()
