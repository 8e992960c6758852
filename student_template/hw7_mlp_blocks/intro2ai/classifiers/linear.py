"""A linear softmax classifier (given): the smallest model with cs231n's API, a baseline in the
notebook and the model the grader saves and loads to check save_model / load_model alone."""

import numpy as np

from ..layers import affine_backward, affine_forward, softmax_loss


class LinearClassifier:
    """scores = X.reshape(N, -1) @ W1 + b1; loss(X) returns scores, loss(X, y) (loss, grads)."""

    def __init__(self, input_dim=28 * 28, num_classes=10, weight_scale=1e-2, dtype=np.float32):
        self.config = {"input_dim": int(input_dim), "num_classes": int(num_classes),
                       "weight_scale": float(weight_scale), "dtype": np.dtype(dtype).name}
        self.dtype = dtype
        self.params = {"W1": (weight_scale * np.random.randn(input_dim, num_classes)).astype(dtype),
                       "b1": np.zeros(num_classes, dtype=dtype)}

    def loss(self, X, y=None):
        scores, cache = affine_forward(X.astype(self.dtype), self.params["W1"], self.params["b1"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        _, dW, db = affine_backward(dscores, cache)
        return loss, {"W1": dW, "b1": db}
