"""Times one epoch of HW5 training as the seed notebook's cells 17-18 run it, on the reference package.

Cell 17: ThreeLayerConvNet(weight_scale=0.001, hidden_dim=500, reg=0.001) trained by a Solver
(adam, learning rate 1e-3, batch 50, one epoch) on 49,000 float32 CIFAR-shaped images; cell 18:
check_accuracy on the whole training set. Prints the seconds of each and the peak resident
memory of the process (getrusage maxrss, which includes the data).

    python benchmarks/bench_epoch.py [--repeat N] [--source embedded|cifar10-subset|<folder>]
                                     [--blas-threads K]

Build the compiled im2col first (`cd reference/intro2ai && python setup.py build_ext --inplace`)
to time the default fast path; the output says which im2col ran. OpenBLAS threads spin while
they wait, so on a machine whose other cores are busy `--blas-threads 1` can be much faster.
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_once(data: dict, seed: int) -> tuple[float, float, float]:
    """One cell-17 epoch and one cell-18 check: (train seconds, check seconds, train accuracy)."""
    import numpy as np
    from intro2ai.classifiers.cnn import ThreeLayerConvNet
    from intro2ai.solver import Solver

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
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS threads (default: the BLAS library's own, one per core)")
    args = parser.parse_args()
    if args.blas_threads is not None:  # read by the BLAS library when numpy is first imported
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.blas_threads)

    sys.path.insert(0, str(REFERENCE))
    from intro2ai import fast_layers
    from intro2ai.data_utils import describe_source, get_CIFAR10_data

    start = time.perf_counter()
    data = get_CIFAR10_data(source=args.source)
    print(f"data: {describe_source(args.source)}, X_train {data['X_train'].shape} "
          f"{data['X_train'].dtype}, loaded in {time.perf_counter() - start:.1f} s, "
          f"peak RSS {peak_rss_gib():.2f} GiB")
    print(f"im2col: {fast_layers.IM2COL_BACKEND}; BLAS threads: {args.blas_threads or 'default'}; "
          f"load average before: {os.getloadavg()[0]:.2f}")

    for run in range(args.repeat):
        train_s, check_s, accuracy = run_once(data, seed=231 + run)
        print(f"run {run + 1}: epoch {train_s:.1f} s, full-training-set check_accuracy "
              f"{check_s:.1f} s (accuracy {accuracy:.3f}), peak RSS {peak_rss_gib():.2f} GiB, "
              f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
