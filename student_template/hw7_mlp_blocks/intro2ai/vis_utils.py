"""Visualisation helpers: tile a batch of images or filters into one grid image."""

from math import ceil, sqrt

import numpy as np


def visualize_grid(Xs, ubound=255.0, padding=1):
    """
    Reshape a 4D tensor of image data to a grid for easy visualization.

    Inputs:
    - Xs: Data of shape (N, H, W, C)
    - ubound: Output grid will have values scaled to the range [0, ubound]
    - padding: The number of blank pixels between elements of the grid

    Each image is scaled on its own to [0, ubound]; a constant image becomes 0.
    """
    (N, H, W, C) = Xs.shape
    grid_size = int(ceil(sqrt(N)))
    grid_height = H * grid_size + padding * (grid_size - 1)
    grid_width = W * grid_size + padding * (grid_size - 1)
    grid = np.zeros((grid_height, grid_width, C))
    for idx in range(N):
        row, col = divmod(idx, grid_size)
        y0, x0 = row * (H + padding), col * (W + padding)
        img = Xs[idx]
        low, high = np.min(img), np.max(img)
        span = high - low if high > low else 1.0
        grid[y0:y0 + H, x0:x0 + W] = ubound * (img - low) / span
    return grid
