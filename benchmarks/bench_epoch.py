"""Times one epoch of HW5 training as the seed notebook's cells 17-18 run it, on the reference package.

Cell 17: ThreeLayerConvNet(weight_scale=0.001, hidden_dim=500, reg=0.001) trained by a Solver
(adam, learning rate 1e-3, batch 50, one epoch) on 49,000 float32 CIFAR-shaped images; cell 18:
check_accuracy on the whole training set. Prints the seconds of each and the peak resident
memory of the process (getrusage maxrss, which includes the data).

    python benchmarks/bench_epoch.py [--repeat N] [--source embedded|cifar10-subset|<folder>]

Build the compiled im2col first (`cd reference/intro2ai && python setup.py build_ext --inplace`)
to time the default fast path; the output says which im2col ran.
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))

from intro2ai import fast_layers  # noqa: E402
from intro2ai.classifiers.cnn import ThreeLayerConvNet  # noqa: E402
from intro2ai.data_utils import describe_source, get_CIFAR10_data  # noqa: E402
from intro2ai.solver import Solver  # noqa: E402


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_once(data: dict[str, np.ndarray], seed: int) -> tuple[float, float, float]:
    """One cell-17 epoch and one cell-18 check: (train seconds, check seconds, train accuracy)."""
    np.random.seed(seed)
    model = ThreeLayerConvNet(weight_scale=0.001, hidden_dim=500, reg=0.001)
    solver = Solver(
        model,
        data,
        num_epochs=1,
        batch_size=50,
        update_rule="adam",
        optim_config={"learning_rate": 1e-3},
        verbose=False,
    )
    start = time.perf_counter()
    solver.train()
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = solver.check_accuracy(data["X_train"], data["y_train"])
    check_s = time.perf_counter() - start
    return train_s, check_s, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="epochs to time, each from scratch")
    parser.add_argument("--source", default=None, help="data source (default: INTRO2AI_DATA)")
    args = parser.parse_args()

    start = time.perf_counter()
    data = get_CIFAR10_data(source=args.source)
    print(f"data: {describe_source(args.source)}, X_train {data['X_train'].shape} "
          f"{data['X_train'].dtype}, loaded in {time.perf_counter() - start:.1f} s, "
          f"peak RSS {peak_rss_gib():.2f} GiB")
    print(f"im2col: {fast_layers.IM2COL_BACKEND}")

    for run in range(args.repeat):
        train_s, check_s, accuracy = run_once(data, seed=231 + run)
        print(f"run {run + 1}: epoch {train_s:.1f} s, full-training-set check_accuracy "
              f"{check_s:.1f} s (accuracy {accuracy:.3f}), peak RSS {peak_rss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
