"""HW8 layers: HW5's layers (given, in hw5_layers.py) and the softmax loss for soft targets (HW8 Q5).

CutMix and Mixup turn a label into a mixture of two classes, so the loss must accept a target
distribution per row, not only a class index; everything else is HW5's.
"""

import numpy as np

from .hw5_layers import *  # noqa: F403  affine, ReLU and HW5's conv/pool layers (given)


def softmax_loss(x, y):
    """Computes the loss and gradient for softmax classification with hard or soft targets.

    Inputs:
    - x: Input data, of shape (N, C) where x[i, j] is the score for the jth
      class for the ith input.
    - y: Either a vector of labels, of shape (N,), where y[i] is the label for
      x[i] and 0 <= y[i] < C, or targets of shape (N, C): one-hot rows, or
      mixed labels from CutMix/Mixup (non-negative, each row summing to 1).

    Returns a tuple of:
    - loss: Scalar giving the loss, the mean over rows of -sum_j y[i, j] * log p[i, j]
    - dx: Gradient of the loss with respect to x, of the same shape and dtype as x
    """
    loss, dx = None, None
    ###########################################################################
    # TODO: Implement the softmax loss for integer labels AND for target      #
    # rows. Turn integer labels into one-hot rows first, then use one formula.#
    # Subtract each row's maximum score before np.exp (numeric stability).    #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    targets = np.asarray(y)
    if targets.ndim == 1:
        targets = np.eye(x.shape[1], dtype=x.dtype)[targets]
    targets = targets.astype(x.dtype, copy=False)
    N = x.shape[0]
    loss = -np.sum(targets * log_probs) / N
    # d/dx of -sum_j t_j log p_j is p * sum_j t_j - t, which is p - t for rows summing to 1.
    dx = (np.exp(log_probs) * targets.sum(axis=1, keepdims=True) - targets) / N

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return loss, dx
