"""The calibration scripts' run loop: measure each run not yet in the JSON-lines log, append it.

A calibration takes hours (every seed by every BLAS thread count, a whole training each), so
each finished run is one JSON line written and flushed at once: the log can be read while it
grows, and a rerun after a stop measures only the runs the log lacks. A run is named by a key,
the fields that identify it (seed and threads; the case or data set too where a script has
several); its row holds the key's fields and the measurements.

Used by calibrate.py, calibrate_hw6_deep_cnn.py, calibrate_hw7_mlp_blocks.py and
calibrate_hw8_cutmix_mixup.py (run as scripts: this directory is on sys.path).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path


def read_log(log: Path) -> list[dict]:
    """Every row of the log, in the order written; none if it does not exist yet."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def _matches(row: dict, key: dict) -> bool:
    return all(field in row and row[field] == value for field, value in key.items())


def run_missing(log: Path, keys: Iterable[dict], measure: Callable[[dict], dict],
                report: Callable[[dict], None] = lambda row: None, needs: Iterable[str] = ()) -> list[dict]:  # fmt: skip
    """The row of every key, in the keys' order: the latest logged row with the key's fields and
    every field in `needs`, else `measure(key)`, appended to the log and flushed before the next
    run starts, then passed to `report`.

    `measure` returns the whole row, the key's fields included (a row without them could not be
    found again: a rerun would measure it twice), so a script keeps its log's field order.
    `needs` names measurements added since older rows were logged: such rows are measured again.
    """
    needed = tuple(needs)
    logged = [row for row in read_log(log) if all(field in row for field in needed)]
    rows = []
    for key in keys:
        row = next((r for r in reversed(logged) if _matches(r, key)), None)
        if row is None:
            row = measure(key)
            if not _matches(row, key):
                raise ValueError(f"measured row {row} does not carry its key {key}")
            with log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row) + "\n")
            logged.append(row)
            report(row)
        rows.append(row)
    return rows
