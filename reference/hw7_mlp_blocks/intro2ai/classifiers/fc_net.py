"""HW7's multi-layer perceptron: the seed's Keras MLP (Flatten -> Dense 128 ReLU -> Dropout ->
Dense 10 softmax) with any number of hidden layers, inverted dropout and L1/L2 regularization."""

import numpy as np

from ..layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)


class FullyConnectedNet:
    """A fully connected network: {affine - relu - [dropout]} x (L - 1) - affine - softmax.

    cs231n's API: parameters in self.params ('W1', 'b1', ..., 'WL', 'bL'), loss(X) returns the
    class scores (test mode: dropout is the identity), loss(X, y) the loss and the gradients.
    """

    def __init__(self, hidden_dims, input_dim=28 * 28, num_classes=10, dropout=1, reg=0.0, l1=0.0,
                 weight_scale=1e-2, dtype=np.float32, seed=None):
        """
        Inputs:
        - hidden_dims: A list of integers giving the size of each hidden layer.
        - input_dim: An integer giving the size of the input (784 for a 28x28 image).
        - num_classes: An integer giving the number of classes to classify.
        - dropout: Scalar between 0 and 1 giving the probability of KEEPING a hidden unit
          (cs231n's convention; Keras's Dropout(0.2) is dropout=0.8). If dropout=1 then the
          network does not use dropout at all.
        - reg: L2 strength: the loss adds 0.5 * reg * sum(W ** 2) over every weight matrix.
        - l1: L1 strength: the loss adds l1 * sum(|W|) over every weight matrix.
          Biases are never regularized.
        - weight_scale: Standard deviation of the normal initialization of the weights
          (biases start at 0).
        - dtype: numpy datatype of every parameter and computation.
        - seed: If not None, pass it to the dropout layers (deterministic, for gradient checks).
        """
        self.use_dropout = dropout != 1
        self.reg, self.l1 = reg, l1
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        # The constructor's arguments, so that save_model / load_model can rebuild the network.
        self.config = {"hidden_dims": [int(h) for h in hidden_dims], "input_dim": int(input_dim),
                       "num_classes": int(num_classes), "dropout": float(dropout), "reg": float(reg),
                       "l1": float(l1), "weight_scale": float(weight_scale), "dtype": np.dtype(dtype).name}
        ############################################################################
        # TODO: Initialize W1..WL from N(0, weight_scale^2) and b1..bL at zero.    #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout}
            if seed is not None:
                self.dropout_param["seed"] = seed

        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """Scores for X (y is None, test mode) or (loss, grads) with the regularization terms."""
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        scores = None
        ############################################################################
        # TODO: Forward pass: flatten X, {affine - relu - [dropout]} per hidden    #
        # layer, then the last affine; store what the backward pass needs.         #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        h, caches = X.reshape(X.shape[0], -1), []
        for i in range(1, self.num_layers):
            h, affine_cache = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            h, relu_cache = relu_forward(h)
            dropout_cache = None
            if self.use_dropout:
                h, dropout_cache = dropout_forward(h, self.dropout_param)
            caches.append((affine_cache, relu_cache, dropout_cache))
        L = self.num_layers
        scores, last_cache = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        if mode == "test":
            return scores

        loss, grads = 0.0, {}
        ############################################################################
        # TODO: Backward pass: the softmax loss plus 0.5 * reg * sum(W^2) plus     #
        # l1 * sum(|W|) over the weights; grads[k] the gradient of params[k].      #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        loss, dscores = softmax_loss(scores, y)
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            affine_cache, relu_cache, dropout_cache = caches[i - 1]
            if self.use_dropout:
                dh = dropout_backward(dh, dropout_cache)
            dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(relu_backward(dh, relu_cache), affine_cache)
        for i in range(1, L + 1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W) + self.l1 * np.sum(np.abs(W))
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W + self.l1 * np.sign(W)

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        return loss, grads
