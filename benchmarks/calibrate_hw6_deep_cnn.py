"""Calibrates HW6's experiment targets (Q5): the reference over np.random seeds and BLAS threads.

For each seed and 1 and 2 BLAS threads, the reference trains the three configurations exactly as
the sandbox does (driver.experiment, the reference package standing in for the student's) and the
judge's measurement is taken: held-out accuracy per configuration (the reference forward pass in
test mode, with the trained parameters and running statistics, on the validation images), with
the process CPU seconds of the run. Prints a markdown table and the worst run per configuration;
appends JSON lines to benchmarks/calibration-hw6_deep_cnn-runs.jsonl.

Usage (from the repository root): PYTHONPATH=. python benchmarks/calibrate_hw6_deep_cnn.py [--seeds 0 1 2] [--threads 1 2];
resumable (pairs of seed and thread count already in the log with every current measurement are not run again).
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
RUNS = ROOT / "benchmarks" / "calibration-hw6_deep_cnn-runs.jsonl"


def measure(checks, driver, case, seed: int, threads: int) -> dict:
    params = {**case.params, "seed": seed}
    data = checks.DATA.load("embedded", params["num_train"])
    start = time.process_time()
    with threadpool_limits(threads), own_package(checks.PACKAGE, path=checks.REFERENCE):  # the driver's `intro2ai`
        outputs = driver.experiment({"X_train": data["X_train"], "y_train": data["y_train"]}, params)
    row = {"seed": seed, "threads": threads, "cpu_s": round(time.process_time() - start, 1)}
    for config in params["configs"]:
        model = checks._trained_model(run_arrays(outputs, config), params, config)
        row[f"{config}_val"] = accuracy(model, data["X_val"], data["y_val"])  # test mode first, as the judge
        row[f"{config}_train_loss"] = checks._train_loss(model, params, data["X_train"], data["y_train"])
        row[f"{config}_loss"] = float(outputs[f"{config}_loss_history"][-10:].mean())
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    hw6 = load_assignment("hw6_deep_cnn")
    checks = hw6.checks()
    driver = import_file("_hw6_driver", hw6.driver_path)
    case = hw6.question("Q5").cases[0]
    configs = case.params["configs"]

    def report(row: dict) -> None:
        cells = " | ".join(f"{row[f'{c}_val']:.3f} | {row[f'{c}_loss']:.3f} | {row[f'{c}_train_loss']:.3f}" for c in configs)
        print(f"| {row['seed']} | {row['threads']} | {cells} | {row['cpu_s']} |", flush=True)

    print("| seed | BLAS threads | " + " | ".join(f"{c} val | {c} final loss | {c} train loss" for c in configs)
          + " | CPU s |")
    print("|---|---|" + "---|---|---|" * len(configs) + "---|")
    keys = [{"seed": seed, "threads": threads} for seed in args.seeds for threads in args.threads]
    rows = run_missing(RUNS, keys, lambda key: measure(checks, driver, case, key["seed"], key["threads"]), report,
                       needs=[f"{c}_train_loss" for c in configs])  # fmt: skip
    for config in configs:
        values = np.array([r[f"{config}_val"] for r in rows])
        print(f"{config}: val accuracy worst {values.min():.3f}, mean {values.mean():.3f}, best {values.max():.3f}")
        losses = np.array([r[f"{config}_train_loss"] for r in rows])
        print(f"{config}: train loss worst {losses.max():.3f}, mean {losses.mean():.3f}, best {losses.min():.3f}")


if __name__ == "__main__":
    main()
