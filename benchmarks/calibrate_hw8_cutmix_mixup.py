"""Calibrates HW8's experiment targets (Q8): the reference over np.random seeds and BLAS threads.

For each seed (0-9 and the graded case's own) and 1 and 2 BLAS threads, the reference trains the
three methods exactly as the sandbox does (driver.experiment, the reference package standing in for
the student's) and the judge's measurements are taken: held-out accuracy per method (the reference
forward pass on the validation images) and the final training loss (mean of the last `tail`
iterations). Prints a markdown table and the worst run per method; appends JSON lines to
benchmarks/calibration-hw8_cutmix_mixup-runs.jsonl.

Usage (from the repository root): PYTHONPATH=. python benchmarks/calibrate_hw8_cutmix_mixup.py [--seeds 10]
[--threads 1,2]; resumable (pairs of seed and thread count already in the log are not run again).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from calibration_log import run_missing
from threadpoolctl import threadpool_limits

from autograder.assignment import import_file, load_assignment, own_package
from autograder.grading.training import accuracy, run_arrays

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "calibration-hw8_cutmix_mixup-runs.jsonl"


def measure(checks, driver, case, seed: int, threads: int, reference: Path) -> dict:
    params = {**case.params, "seed": seed}
    data = checks.DATA.load("embedded", params["num_train"])
    start = time.perf_counter()
    with threadpool_limits(threads), own_package("intro2ai", path=reference):  # the driver's `intro2ai`: HW8's reference
        outputs = driver.experiment({"X_train": data["X_train"], "y_train": data["y_train"]}, params)
    seconds = time.perf_counter() - start
    row = {"seed": seed, "threads": threads, "seconds": round(seconds, 2)}
    tail = max(1, int(len(outputs["none_loss_history"]) * params["tail"]))
    for method in checks.METHODS:
        model = checks._trained_model(run_arrays(outputs, method), params)
        row[f"{method}_val"] = accuracy(model, data["X_val"], data["y_val"])
        row[f"{method}_loss"] = float(outputs[f"{method}_loss_history"][-tail:].mean())
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--threads", default="1,2", help="BLAS thread counts, e.g. 1,2")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    hw8 = load_assignment("hw8_cutmix_mixup")
    checks = hw8.checks()
    driver = import_file("_hw8_driver", hw8.driver_path)
    case = hw8.question("Q8").cases[0]
    seeds = sorted({*range(args.seeds), case.params["seed"]})

    def report(row: dict) -> None:
        print(f"| {row['seed']} | {row['threads']} | {row['none_val']:.3f} | {row['cutmix_val']:.3f} | {row['mixup_val']:.3f} | "
              f"{row['none_loss']:.3f} | {row['cutmix_loss']:.3f} | {row['mixup_loss']:.3f} | {row['seconds']} |",
              flush=True)  # fmt: skip

    print("| seed | BLAS threads | none val | cutmix val | mixup val | none loss | cutmix loss | mixup loss | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    keys = [{"seed": seed, "threads": threads} for seed in seeds for threads in thread_counts]
    rows = run_missing(RUNS, keys, lambda key: measure(checks, driver, case, key["seed"], key["threads"], hw8.reference_dir),
                       report)  # fmt: skip
    for method in checks.METHODS:
        values = np.array([r[f"{method}_val"] for r in rows])
        print(f"{method}: val accuracy worst {values.min():.3f}, mean {values.mean():.3f}, best {values.max():.3f}")
    gaps = np.array([min(r["cutmix_loss"], r["mixup_loss"]) - r["none_loss"] for r in rows])
    print(f"augmented final loss minus baseline's: smallest {gaps.min():.3f} over {len(rows)} runs")


if __name__ == "__main__":
    main()
