"""Times HW5 training (seed notebook cells 17-18) against the machine's BLAS floor, measured in the same run.

Cell 17: ThreeLayerConvNet(weight_scale=0.001, hidden_dim=500, reg=0.001) trained by a Solver
(adam, learning rate 1e-3, batch 50, one epoch) on 49,000 float32 CIFAR-shaped images; cell 18:
check_accuracy on the whole training set. On a shared machine absolute seconds mean little, so
every figure is printed beside a baseline taken in the same process:

* GEMM peak: the median rate of float32 2048^3 products, measured right before and right after
  the training; the larger of the two sets the floor (the conservative choice).
* FLOP: the epoch's arithmetic (conv forward, dw and dx; each affine forward, dw and dx), from
  the model's weight shapes. floor = FLOP / peak; ratio = epoch / floor (the target is <= 2).
* the products alone: every matrix product of one step (those the floor counts) timed at its
  own shapes, times the epoch's iterations: how close to the floor BLAS itself gets on these
  skinny products, before any other work of the step.
* per-iteration time: the median of several short blocks of Solver steps (robust to other
  processes' bursts), times the epoch's iterations, beside the measured full epoch (which also
  holds Solver.train's two accuracy checks: 4,000 forward images, ~3 % beyond the FLOP count).
* side by side: as `grade batch` grades a class (a worker per core, one BLAS thread each), one
  process per core trains at once; each reports its step median, and the epoch's cost per
  submission is that step x iterations / processes (the cores shared, memory bandwidth too).
* Adam: the measured step over all weights against its memory-bandwidth bound (the bytes Adam
  must move, read w, dw, m, v and write w, m, v, at the streaming bandwidth of an in-place
  `a += b` over arrays of the largest weight's size, which moves its bytes as Adam does: every
  written array was read first. A plain copy also reads its destination before writing it,
  so counting its bytes as read + write put the bound 3x above Adam's own time.)
* peak resident memory (getrusage maxrss, the data included; target <= 1 GiB).

    python benchmarks/bench_epoch.py [--epochs N] [--blocks B] [--block-iterations K]
                                     [--source embedded|cifar10-subset|<folder>] [--blas-threads T]
                                     [--package reference|template|<folder>] [--package-name intro2ai]
                                     [--side-by-side P] [--json]

`--package DIR --package-name cs231n` times the cs231n course code (a completed assignment 2
checkout with the same ThreeLayerConvNet and Solver API) for comparison; it is not part of this
repository.

Build the compiled kernels first (`cd reference/intro2ai && python setup.py build_ext --inplace`)
to time the default fast path; the output says which ran. Every line ends with the load average.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"reference": ROOT / "reference", "template": ROOT / "student_template" / "hw5_cnn"}
CELL_17 = {"weight_scale": 0.001, "hidden_dim": 500, "reg": 0.001}
BATCH = 50
EPOCH_TARGET = 2.0  # x the floor
MEMORY_TARGET_GIB = 1.0


@dataclass(frozen=True)
class Peak:
    """Median float32 GEMM rate of a few 2048^3 products, and the load average when measured."""

    gflops: float
    load: float


@dataclass(frozen=True)
class Bandwidth:
    """Median streaming bandwidth (bytes read + written per second) of an in-place a += b."""

    bytes_per_s: float
    load: float


def load() -> float:
    return os.getloadavg()[0]


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _median_seconds(action, runs: int) -> float:
    action()  # warm caches, threads and allocator
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_peak(runs: int = 5, n: int = 2048) -> Peak:
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    seconds = _median_seconds(lambda: np.matmul(a, b, out=out), runs)
    return Peak(2 * n**3 / seconds / 1e9, load())


def stream_bandwidth(elements: int, runs: int = 7) -> Bandwidth:
    """In-place a += b over float32 arrays of `elements`: reads a and b, writes a (3 x nbytes)."""
    import numpy as np

    a, b = np.ones(elements, dtype=np.float32), np.full(elements, 1e-7, dtype=np.float32)
    seconds = _median_seconds(lambda: np.add(a, b, out=a), runs)
    return Bandwidth(3 * a.nbytes / seconds, load())


def epoch_flop(params: dict, images: int) -> float:
    """Multiply-adds x 2 of one epoch: conv (forward, dw, dx) and every affine layer (forward,
    dw, dx), for a conv that keeps the image size (HW5's pad and stride)."""
    F, C, HH, WW = params["W1"].shape
    H = W = 32
    conv = 2 * F * C * HH * WW * H * W
    affine = sum(2 * params[name].shape[0] * params[name].shape[1] for name in ("W2", "W3"))
    return 3 * (conv + affine) * images


def step_products(params: dict, batch: int, runs: int = 7) -> float:
    """Seconds of one step's matrix products alone, each at its own shapes (the floor's FLOP):
    conv forward, dw and dx over im2col columns; each affine layer's forward, dw and dx."""
    import numpy as np

    rng = np.random.default_rng(0)
    F, C, HH, WW = params["W1"].shape
    columns = batch * 32 * 32

    def rand(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    w, cols, dout = rand(F, C * HH * WW), rand(C * HH * WW, columns), rand(F, columns)
    products = [lambda: w @ cols, lambda: cols @ dout.T, lambda: w.T @ dout]
    for name in ("W2", "W3"):
        D, H = params[name].shape
        x, weight, grad = rand(batch, D), rand(D, H), rand(batch, H)
        products += [lambda x=x, weight=weight: x @ weight, lambda x=x, grad=grad: x.T @ grad,
                     lambda weight=weight, grad=grad: weight @ grad.T]  # fmt: skip
    return sum(_median_seconds(product, runs) for product in products)


def adam_bytes(params: dict) -> int:
    """Bytes one Adam step must move: read w, dw, m, v and write w, m, v, for every weight."""
    return sum(7 * p.nbytes for p in params.values())


def make_solver(data: dict, seed: int, package: str):
    import numpy as np

    ThreeLayerConvNet = importlib.import_module(f"{package}.classifiers.cnn").ThreeLayerConvNet
    Solver = importlib.import_module(f"{package}.solver").Solver
    np.random.seed(seed)
    model = ThreeLayerConvNet(**CELL_17)
    return Solver(model, data, num_epochs=1, batch_size=BATCH, update_rule="adam",
                  optim_config={"learning_rate": 1e-3}, verbose=False)


def iteration_seconds(data: dict, package: str, blocks: int, block_iterations: int,
                      after_warm_up: Callable[[], None] = lambda: None) -> list[float]:  # fmt: skip
    """Seconds per Solver step in each of `blocks` blocks of consecutive steps (after a warm-up,
    then `after_warm_up()`: a side-by-side worker waits there for the others)."""
    solver = make_solver(data, 231, package)
    for _ in range(5):
        solver._step()
    after_warm_up()
    per_step = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(block_iterations):
            solver._step()
        per_step.append((time.perf_counter() - start) / block_iterations)
    return per_step


def adam_seconds(params: dict, package: str, runs: int = 7) -> float:
    """Median time of one Adam step over every weight of the model (as the Solver runs it)."""
    import numpy as np
    optim = importlib.import_module(f"{package}.optim")
    weights = {k: v.copy() for k, v in params.items()}
    grads = {k: np.full_like(v, 1e-3) for k, v in params.items()}
    configs = {k: {"learning_rate": 1e-3} for k in params}

    def step() -> None:
        for k, w in weights.items():
            optim.adam(w, grads[k], configs[k])

    return _median_seconds(step, runs)


def side_by_side_steps(args: argparse.Namespace, processes: int) -> list[float]:
    """Seconds per Solver step of `processes` one-BLAS-thread trainings run at once (a worker each).

    Each worker loads the data and warms up, then waits for all the others (a file each in a
    shared folder) before its timed blocks, so that the timed steps overlap.
    """
    with tempfile.TemporaryDirectory() as ready:
        command = [sys.executable, __file__, "--worker", ready, "--workers", str(processes), "--blas-threads", "1",
                   "--package", args.package, "--package-name", args.package_name,
                   "--blocks", str(args.blocks), "--block-iterations", str(args.block_iterations)]  # fmt: skip
        if args.source:
            command += ["--source", args.source]
        workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
        outputs = [worker.communicate()[0] for worker in workers]
    if any(worker.returncode for worker in workers):
        raise RuntimeError("a side-by-side training worker failed")
    return [float(out.strip().splitlines()[-1]) for out in outputs]


def worker_main(args: argparse.Namespace, data: dict) -> None:
    """One side-by-side trainer: warm up, wait for the others, print the median step (seconds)."""

    def wait_for_the_others() -> None:
        Path(args.worker, str(os.getpid())).touch()
        while len(os.listdir(args.worker)) < args.workers:
            time.sleep(0.01)

    steps = iteration_seconds(data, args.package_name, args.blocks, args.block_iterations, wait_for_the_others)
    print(statistics.median(steps))


ROWS: list[tuple[str, float, str, str]] = []  # (name, value, unit, target and note) for run_all.py


def row(name: str, value: float, unit: str, target: str = "", note: str = "") -> None:
    print(f"{name:46s} {value:10.3f} {unit:9s} {('target ' + target) if target else '':14s} {note}", flush=True)
    ROWS.append((name, value, unit, "; ".join(part for part in (target, note) if part)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="full epochs to time, each from scratch")
    parser.add_argument("--blocks", type=int, default=5, help="blocks of steps for the per-iteration median")
    parser.add_argument("--block-iterations", type=int, default=60, help="steps per block")
    parser.add_argument("--source", default=None, help="data source (default: INTRO2AI_DATA)")
    parser.add_argument("--package", default="reference",
                        help="reference, template, or a folder holding an intro2ai package")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS threads (default: the BLAS library's own, one per core)")
    parser.add_argument("--package-name", default="intro2ai", help="the package to train (cs231n for the course code)")
    parser.add_argument("--side-by-side", type=int, default=os.cpu_count() or 1,
                        help="one-BLAS-thread trainings run at once for the per-submission cost (0: skip)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # a side-by-side trainer: its ready folder
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="end with the rows as one JSON line (for run_all.py)")
    args = parser.parse_args()
    if args.blas_threads is not None:  # read by the BLAS library when numpy is first imported
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.blas_threads)

    package = args.package_name
    sys.path.insert(0, str(PACKAGES.get(args.package, Path(args.package))))
    sys.path.insert(1, str(PACKAGES["reference"]))  # the data loader, whichever package trains
    from intro2ai.data_utils import describe_source, get_CIFAR10_data

    start = time.perf_counter()
    data = get_CIFAR10_data(source=args.source)
    if args.worker:
        worker_main(args, data)
        return
    images = data["X_train"].shape[0]
    iterations = max(images // BATCH, 1)
    fast_layers = importlib.import_module(f"{package}.fast_layers")
    optim = importlib.import_module(f"{package}.optim")
    print(f"data: {describe_source(args.source)}, X_train {data['X_train'].shape} {data['X_train'].dtype}, "
          f"loaded in {time.perf_counter() - start:.1f} s; package {fast_layers.__file__}")
    print(f"im2col: {getattr(fast_layers, 'IM2COL_BACKEND', '?')}; "
          f"adam: {'compiled' if getattr(optim, 'adam_step', None) else 'numpy'}; "
          f"BLAS threads: {args.blas_threads or 'default'}; cores: {os.cpu_count()}")
    print(f"{'figure':46s} {'value':>10s} {'unit':9s} {'target':14s} load average (1 min) / note")

    params = make_solver(data, 0, package).model.params
    flop = epoch_flop(params, images)
    before = gemm_peak()
    row("float32 GEMM peak, before", before.gflops, "GFLOP/s", note=f"load {before.load:.2f}")
    bandwidth = stream_bandwidth(max(p.size for p in params.values()))
    row("streaming bandwidth (in-place a += b)", bandwidth.bytes_per_s / 1e9, "GB/s", note=f"load {bandwidth.load:.2f}")
    adam_s = adam_seconds(params, package)
    adam_bound = adam_bytes(params) / bandwidth.bytes_per_s
    row("Adam step, all weights", adam_s * 1e3, "ms", note=f"load {load():.2f}")
    row("  its memory-bandwidth bound", adam_bound * 1e3, "ms", note=f"{adam_bytes(params) / 2**20:.0f} MiB moved")
    row("  ratio", adam_s / adam_bound, "x bound")

    products = step_products(params, BATCH)
    steps = iteration_seconds(data, package, args.blocks, args.block_iterations)
    side_by_side = side_by_side_steps(args, args.side_by_side) if args.side_by_side > 1 else []
    step = statistics.median(steps)
    row("Solver step (median of blocks)", step * 1e3, "ms",
        note=f"load {load():.2f}; blocks {', '.join(f'{s * 1e3:.1f}' for s in steps)}")
    epochs = []
    for run in range(args.epochs):
        solver = make_solver(data, 231 + run, package)
        start = time.perf_counter()
        solver.train()
        epochs.append(time.perf_counter() - start)
        row(f"epoch {run + 1}, {images:,} images", epochs[-1], "s", note=f"load {load():.2f}")
    if epochs:
        start = time.perf_counter()
        accuracy = solver.check_accuracy(data["X_train"], data["y_train"])
        check_s = time.perf_counter() - start
    after = gemm_peak()
    row("float32 GEMM peak, after", after.gflops, "GFLOP/s", note=f"load {after.load:.2f}")

    peak = max(before.gflops, after.gflops)
    floor = flop / (peak * 1e9)
    row("epoch arithmetic", flop / 1e12, "TFLOP", note="conv fwd+dw+dx, affine fwd+dw+dx")
    row("BLAS floor (FLOP / larger peak)", floor, "s")
    row("matrix products alone, at the epoch's shapes", products * iterations, "s", note="BLAS on these shapes")
    row("  ratio to the floor", products * iterations / floor, "x floor")
    row("epoch from the step median", step * iterations, "s", note=f"{iterations} steps")
    row("  ratio to the floor", step * iterations / floor, "x floor", f"<= {EPOCH_TARGET:g}")
    if side_by_side:
        shared = statistics.median(side_by_side) * iterations / len(side_by_side)
        row(f"epoch per submission, {len(side_by_side)} trainings side by side", shared, "s",
            note=f"1 BLAS thread each, as grade batch runs them; steps {', '.join(f'{s * 1e3:.1f}' for s in side_by_side)} ms")
        row("  ratio to the floor", shared / floor, "x floor", f"<= {EPOCH_TARGET:g}")
    if epochs:
        epoch = min(epochs)
        row("epoch measured (best)", epoch, "s")
        row("  ratio to the floor", epoch / floor, "x floor", f"<= {EPOCH_TARGET:g}")
        row("full-training-set check_accuracy (cell 18)", check_s, "s", note=f"accuracy {accuracy:.3f}")
    row("peak memory (RSS, data included)", peak_rss_gib(), "GiB", f"<= {MEMORY_TARGET_GIB:g}")
    if args.json:
        print(json.dumps(ROWS))


if __name__ == "__main__":
    main()
