"""The embedded data set next to a real CIFAR-10 folder: the statistics a network is sensitive to.

Prints a markdown table (benchmarks/calibration.md keeps one): per-channel mean and std and the
pixel histogram of the raw 0..255 images, neighbour correlation and power-spectrum slope
(tests/image_stats.py), and what the seed's network (ThreeLayerConvNet(weight_scale=1e-3,
hidden_dim=500, reg=1e-3), Adam 1e-3, batch 50, np.random.seed(231)) sees on the mean-subtracted
images: the std of its first-layer (conv) responses and the largest |score| at initialisation and
after N training steps. The largest score is what np.exp meets in a softmax_loss without the
max-subtraction trick (float32 overflows past 88.7).

    INTRO2AI_CIFAR_DIR=../shared/data/cifar-10-subset-batches-py python benchmarks/compare_data.py [--steps 100]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "reference"), str(ROOT / "tests")]

from image_stats import LAGS, image_stats  # noqa: E402
from intro2ai.classifiers.cnn import ThreeLayerConvNet  # noqa: E402
from intro2ai.data_utils import get_CIFAR10_data, make_embedded_data  # noqa: E402
from intro2ai.optim import adam  # noqa: E402


def network_magnitudes(X: np.ndarray, y: np.ndarray, steps: int) -> tuple[float, float, float, float]:
    """(conv response std at init, max |score| at init, max |score| over the steps, final loss)."""
    np.random.seed(231)
    model = ThreeLayerConvNet(weight_scale=1e-3, hidden_dim=500, reg=1e-3)
    conv = np.tensordot(X[:200, :, :7, :7], model.params["W1"], axes=([1, 2, 3], [1, 2, 3]))
    init = float(np.abs(model.loss(X[:200])).max())
    configs = {name: {"learning_rate": 1e-3} for name in model.params}
    peak, loss = init, float("nan")
    for _ in range(steps):
        batch = np.random.choice(len(X), 50)
        peak = max(peak, float(np.abs(model.loss(X[batch])).max()))
        loss, grads = model.loss(X[batch], y[batch])
        for name, value in model.params.items():
            model.params[name], configs[name] = adam(value, grads[name], configs[name])
    return float(conv.std()), init, peak, float(loss)


def describe(label: str, raw: np.ndarray, data: dict, steps: int) -> list[str]:
    s = image_stats(raw)
    conv, init, peak, loss = network_magnitudes(data["X_train"], data["y_train"], steps)
    fmt = lambda values: "/".join(f"{v:.0f}" for v in values)  # noqa: E731
    return [label, fmt(s.channel_mean), fmt(s.channel_std), " ".join(f"{h:.2f}" for h in s.histogram),
            "/".join(f"{c:.2f}" for c in s.correlation), f"{s.spectrum_slope:.2f}", f"{conv:.3f}",
            f"{init:.3f}", f"{peak:.1f}", f"{loss:.2f}"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="Adam steps for the score magnitudes")
    parser.add_argument("--images", type=int, default=4000, help="training images of each set")
    args = parser.parse_args()
    header = ["data", "mean R/G/B", "std R/G/B", "histogram (8 bins of 32 levels)",
              f"neighbour corr. at {'/'.join(map(str, LAGS))} px", "spectrum slope", "conv std at init",
              "max abs score at init", f"max abs score, {args.steps} steps", "loss after"]  # fmt: skip
    rows = [describe("embedded", make_embedded_data(args.images, 0, 0)["X_train"],
                     get_CIFAR10_data(args.images, 1000, 0, source="embedded"), args.steps)]  # fmt: skip
    real = os.environ.get("INTRO2AI_CIFAR_DIR")
    if real:
        data = get_CIFAR10_data(args.images, 1000, 0, source=real, subtract_mean=False)
        raw = data["X_train"].copy()
        data["X_train"] -= data["X_train"].mean(axis=0)
        rows.append(describe("CIFAR-10 folder", raw, data, args.steps))
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
