"""Verdict agreement, full matrix: every known network's Q5 training verdicts on both data sets.

Grades each network of tests/training_networks.py through the whole engine (sandbox, judge,
per-data-set targets; the training cases' wall-clock limit raised to --timeout, so that machine
load cannot decide a verdict) on the embedded data and on a real CIFAR-10 folder, for the overfit item
and the 1-epoch item, and prints one markdown row per (network, item): both verdicts, both
accuracies and the diagnosis of a failed run. tests/test_data_agreement.py runs the cheap slice
(the overfit item) on every test run.

    INTRO2AI_CIFAR_DIR=../shared/data/cifar-10-subset-batches-py \\
        python benchmarks/bench_agreement.py [--items overfit,train] [--networks "reference,..."]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from grading_helpers import make_zip  # noqa: E402
from training_networks import NETWORKS, network_files  # noqa: E402

from autograder.assignment import load_assignment  # noqa: E402
from autograder.grading.run import RunOptions, grade_zip  # noqa: E402

GROUPS = ("Q5", "gradcheck", "overfit", "train")


def without_wall_clock_limit(hw5, seconds: float):
    """The assignment with every training case's wall-clock limit raised: verdicts, not speed."""
    questions = []
    for q in hw5.questions:
        cases = tuple(dataclasses.replace(c, limits={**c.limits, "timeout_s": seconds}) if c.group in GROUPS[2:] else c
                      for c in q.cases)  # fmt: skip
        questions.append(dataclasses.replace(q, cases=cases))
    return dataclasses.replace(hw5, questions=tuple(questions))


def verdict(hw5, name: str, item: str, data: str, workdir: Path) -> dict:
    """The one Q5 case of `item`'s group for one network on one data set."""
    zip_path = make_zip(workdir / "submit.zip", network_files(hw5, name))
    options = RunOptions(seed=5, data=data, only=("Q5",), skip_groups=tuple(g for g in GROUPS if g != item),
                           max_blas_threads=1, run_notebook=False)  # fmt: skip
    (case,) = grade_zip(zip_path, hw5, options).to_json()["questions"][0]["cases"]
    return case


def cell(case: dict) -> str:
    value = "—" if case["value"] is None else f"{case['value']:.3f}"
    return f"{'pass' if case['passed'] else 'FAIL (' + case['status'] + ')'} {value}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", default="overfit,train", help="Q5 training groups: overfit,train")
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated names from NETWORKS")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="wall-clock limit of a training run (s): a loaded machine must not decide a verdict")
    args = parser.parse_args()
    real = os.environ.get("INTRO2AI_CIFAR_DIR")
    if not real:
        sys.exit("set INTRO2AI_CIFAR_DIR to a cifar-10-batches-py folder (the subset works)")
    hw5 = without_wall_clock_limit(load_assignment("hw5_cnn"), args.timeout)
    print("| network | item | embedded | CIFAR-10 subset | agree | diagnosis (embedded / subset) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.networks.split(","):
            for item in args.items.split(","):
                start = time.perf_counter()
                a, b = (verdict(hw5, name, item, data, Path(tmp)) for data in ("embedded", real))
                notes = " / ".join((c["extras"] or {}).get("diagnosis", "")[:60] or "—" for c in (a, b))
                print(f"| {name} | {item} | {cell(a)} | {cell(b)} | {'yes' if a['passed'] == b['passed'] else '**no**'} "
                      f"| {notes} |", flush=True)  # fmt: skip
                print(f"<!-- {time.perf_counter() - start:.0f} s, load {os.getloadavg()[0]:.1f} -->", flush=True)


if __name__ == "__main__":
    main()
