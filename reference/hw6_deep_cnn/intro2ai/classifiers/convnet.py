"""ConvNet (HW6 Q3-Q4): the seed's MyModel(input_shape, output_dim, num_filters_list, use_batch_norm) in numpy.

A list such as [16, 'max_pool', 32, 'max_pool'] builds 3x3 'same' convolutions (stride 1, pad 1)
with a ReLU each, and a 2x2 max pool of stride 2 for every 'max_pool' entry; then flatten,
affine, softmax. use_batch_norm puts spatial batch normalization between each convolution and
its ReLU; use_residual makes every number of the list a residual block instead (layer_utils.py).
"""

import numpy as np

from ..layer_utils import *  # noqa: F403
from ..layers import *  # noqa: F403

POOL = "max_pool"


class ConvNet:
    """
    A convolutional network with the architecture

    [conv - (spatial batchnorm) - relu | 2x2 max pool] x len(num_filters_list) - affine - softmax

    where the list's numbers are conv layers with that many 3x3 filters and its 'max_pool'
    entries are pools. The network operates on minibatches of shape (N, C, H, W).

    Parameters (self.params), numbering the list's conv entries k = 1, 2, ..., L:
    - plain conv layer k: 'W{k}' of shape (F, C_in, 3, 3) and 'b{k}' (F,); with batch norm also
      'gamma{k}' (ones) and 'beta{k}' (zeros) of shape (F,)
    - residual block k: 'block{k}_W1', 'block{k}_b1', 'block{k}_gamma1', 'block{k}_beta1',
      'block{k}_W2', ..., 'block{k}_beta2', and 'block{k}_Wp' (F, C_in, 1, 1), 'block{k}_bp'
      when F != C_in (the keys of residual_block_forward's params, prefixed)
    - the output affine layer: 'W{L+1}' of shape (D, num_classes) and 'b{L+1}'
    Weights are drawn from a Gaussian with standard deviation weight_scale, biases are zero.
    self.bn_params holds one bn_param dictionary per batch normalization, in forward order
    (two per residual block).
    """

    def __init__(
        self,
        num_filters_list=(16, POOL, 32, POOL),
        input_dim=(3, 32, 32),
        num_classes=10,
        use_batch_norm=False,
        weight_scale=1e-2,
        reg=0.0,
        dtype=np.float32,
        use_residual=False,
    ):
        """
        Initialize a new network.

        Inputs:
        - num_filters_list: numbers of 3x3 filters of each conv layer, and 'max_pool' entries
        - input_dim: Tuple (C, H, W) giving size of input data
        - num_classes: Number of scores to produce from the final affine layer.
        - use_batch_norm: spatial batch normalization between each conv and its ReLU
        - weight_scale: Scalar giving standard deviation for random initialization of weights.
        - reg: Scalar giving L2 regularization strength (0.5 * reg * sum of squared weights,
          over the conv, projection and affine weights; not over gamma and beta)
        - dtype: numpy datatype to use for computation.
        - use_residual: every conv entry is a residual block (which always normalizes)
        """
        self.num_filters_list = list(num_filters_list)
        self.use_batch_norm = use_batch_norm
        self.use_residual = use_residual
        self.reg = reg
        self.dtype = dtype
        self.params = {}
        self.bn_params = []
        ############################################################################
        # TODO: Initialize the parameters of the network (the names and shapes in  #
        # the class docstring) and self.bn_params: one {"mode": "train"} per       #
        # batch normalization, in forward order.                                   #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        C, H, W = input_dim
        k = 0
        for entry in self.num_filters_list:
            if entry == POOL:
                H, W = H // 2, W // 2
                continue
            k += 1
            if use_residual:
                names = {"W1": (entry, C, 3, 3), "W2": (entry, entry, 3, 3)}
                if entry != C:
                    names["Wp"] = (entry, C, 1, 1)
                for name, shape in names.items():
                    self.params[f"block{k}_{name}"] = weight_scale * np.random.randn(*shape)
                    self.params[f"block{k}_b{name[1:]}"] = np.zeros(entry)
                for j in ("1", "2"):
                    self.params[f"block{k}_gamma{j}"] = np.ones(entry)
                    self.params[f"block{k}_beta{j}"] = np.zeros(entry)
                self.bn_params += [{"mode": "train"}, {"mode": "train"}]
            else:
                self.params[f"W{k}"] = weight_scale * np.random.randn(entry, C, 3, 3)
                self.params[f"b{k}"] = np.zeros(entry)
                if use_batch_norm:
                    self.params[f"gamma{k}"] = np.ones(entry)
                    self.params[f"beta{k}"] = np.zeros(entry)
                    self.bn_params.append({"mode": "train"})
            C = entry
        self.params[f"W{k + 1}"] = weight_scale * np.random.randn(C * H * W, num_classes)
        self.params[f"b{k + 1}"] = np.zeros(num_classes)

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """
        Evaluate loss and gradient for the network.

        Input / output: the same API as ThreeLayerConvNet (HW5).
        - X: Array of input data of shape (N, C, H, W); it is cast to the model's dtype.
        - y: Array of labels, of shape (N,). y[i] gives the label for X[i].

        Returns:
        If y is None, run a test-time forward pass (batch normalization in "test" mode, with
        its running statistics) and return the scores, of shape (N, num_classes).

        If y is not None, run a training-time forward pass (batch normalization in "train"
        mode) and the backward pass, and return a tuple of:
        - loss: Scalar value giving the loss
        - grads: Dictionary with the same keys as self.params
        """
        X = X.astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        conv_param = {"stride": 1, "pad": 1}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

        scores = None
        ############################################################################
        # TODO: Implement the forward pass, computing the class scores for X.      #
        # Use max_pool_forward_fast, conv_relu_forward, conv_bn_relu_forward,      #
        # residual_block_forward and affine_forward (all imported), and keep each  #
        # layer's cache for the backward pass.                                     #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        h, caches, k, bn = X, [], 0, 0
        for entry in self.num_filters_list:
            if entry == POOL:
                h, cache = max_pool_forward_fast(h, pool_param)
                caches.append(cache)
                continue
            k += 1
            if self.use_residual:
                prefix = f"block{k}_"
                block = {name[len(prefix):]: v for name, v in self.params.items() if name.startswith(prefix)}
                h, cache = residual_block_forward(h, block, self.bn_params[bn:bn + 2])
                bn += 2
            elif self.use_batch_norm:
                h, cache = conv_bn_relu_forward(h, self.params[f"W{k}"], self.params[f"b{k}"], self.params[f"gamma{k}"],
                                                self.params[f"beta{k}"], conv_param, self.bn_params[bn])
                bn += 1
            else:
                h, cache = conv_relu_forward(h, self.params[f"W{k}"], self.params[f"b{k}"], conv_param)
            caches.append(cache)
        scores, out_cache = affine_forward(h, self.params[f"W{k + 1}"], self.params[f"b{k + 1}"])

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        if y is None:
            return scores

        loss, grads = 0, {}
        ############################################################################
        # TODO: Implement the backward pass: the softmax loss, then every layer's  #
        # backward pass in reverse order, storing grads[k] for each self.params[k].#
        # Add L2 regularization (with the factor 0.5) on the conv, projection and  #
        # affine weights.                                                          #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        loss, dscores = softmax_loss(scores, y)
        dh, grads[f"W{k + 1}"], grads[f"b{k + 1}"] = affine_backward(dscores, out_cache)
        for entry, cache in zip(reversed(self.num_filters_list), reversed(caches), strict=True):
            if entry == POOL:
                dh = max_pool_backward_fast(dh, cache)
                continue
            if self.use_residual:
                dh, block_grads = residual_block_backward(dh, cache)
                grads.update({f"block{k}_{name}": g for name, g in block_grads.items()})
            elif self.use_batch_norm:
                dh, grads[f"W{k}"], grads[f"b{k}"], grads[f"gamma{k}"], grads[f"beta{k}"] = conv_bn_relu_backward(dh, cache)
            else:
                dh, grads[f"W{k}"], grads[f"b{k}"] = conv_relu_backward(dh, cache)
            k -= 1
        for name, weights in self.params.items():
            if name.split("_")[-1].startswith("W"):
                loss += 0.5 * self.reg * np.vdot(weights, weights)
                grads[name] = grads[name] + self.reg * weights

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        return loss, grads
