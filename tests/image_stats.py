"""Image statistics that say whether a data set looks like CIFAR-10 to a network.

Shared by tests/test_data_utils.py (embedded data against CIFAR-10's published figures and
the real subset) and benchmarks/compare_data.py (the side-by-side table in calibration.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LAGS = (1, 2, 4, 8)


@dataclass(frozen=True)
class ImageStats:
    channel_mean: np.ndarray  # (3,) over all pixels, 0..255 scale
    channel_std: np.ndarray  # (3,)
    histogram: np.ndarray  # fraction of values in 8 equal bins of 0..256
    correlation: np.ndarray  # horizontal neighbour correlation at LAGS (image mean removed)
    spectrum_slope: float  # log-log slope of the mean power spectrum (about -2 to -3.5 for photos)


def image_stats(X: np.ndarray) -> ImageStats:
    """Statistics of raw images (N, 3, 32, 32) on the 0..255 scale (before mean subtraction)."""
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=(2, 3), keepdims=True)
    correlation = [np.corrcoef(centred[..., :-lag].ravel(), centred[..., lag:].ravel())[0, 1] for lag in LAGS]
    power = (np.abs(np.fft.fft2(centred, axes=(2, 3))) ** 2).mean(axis=(0, 1))
    fy, fx = np.meshgrid(np.fft.fftfreq(X.shape[2]), np.fft.fftfreq(X.shape[3]), indexing="ij")
    radius = np.hypot(fy, fx)
    band = (radius > 0.05) & (radius < 0.45)
    slope = float(np.polyfit(np.log(radius[band]), np.log(power[band]), 1)[0])
    return ImageStats(
        X.mean(axis=(0, 2, 3)), X.std(axis=(0, 2, 3)),
        np.histogram(X, bins=8, range=(0, 256))[0] / X.size, np.array(correlation), slope,
    )  # fmt: skip
