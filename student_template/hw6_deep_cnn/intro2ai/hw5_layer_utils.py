"""Sandwich layers (affine-relu, conv-relu, conv-relu-pool) on the fast layers: given code for HW5."""

# cs231n's module contract: `from .layer_utils import *` also gives every layer, every fast
# layer and np (layers.py imports numpy as np), which cs231n-written classifiers rely on.
from .fast_layers import *
from .layers import *


def affine_relu_forward(x, w, b):
    """Convenience layer that performs an affine transform followed by a ReLU.

    Inputs:
    - x: Input to the affine layer
    - w, b: Weights for the affine layer

    Returns a tuple of:
    - out: Output from the ReLU
    - cache: Object to give to the backward pass
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def affine_relu_backward(dout, cache):
    """Backward pass for the affine-relu convenience layer."""
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db


def conv_relu_forward(x, w, b, conv_param):
    """A convenience layer that performs a convolution followed by a ReLU.

    Inputs:
    - x: Input to the convolutional layer
    - w, b, conv_param: Weights and parameters for the convolutional layer

    Returns a tuple of:
    - out: Output from the ReLU
    - cache: Object to give to the backward pass
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    cache = (conv_cache, relu_cache)
    return out, cache


def conv_relu_backward(dout, cache):
    """Backward pass for the conv-relu convenience layer."""
    conv_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convenience layer that performs a convolution, a ReLU, and a pool.

    Inputs:
    - x: Input to the convolutional layer
    - w, b, conv_param: Weights and parameters for the convolutional layer
    - pool_param: Parameters for the pooling layer

    Returns a tuple of:
    - out: Output from the pooling layer
    - cache: Object to give to the backward pass

    The ReLU is applied after the pool: max-pooling and ReLU commute (both are monotone), so
    the output and the gradients are those of conv-relu-pool, and the ReLU touches a quarter
    of the values. conv_relu_pool_forward_fast runs the pool, bias and ReLU in one compiled pass
    when it can; else conv_pool_forward_fast fuses the conv and the pool.
    """
    fused = conv_relu_pool_forward_fast(x, w, b, conv_param, pool_param)
    if fused is not None:
        out, fused_cache = fused
        return out, ("fused", fused_cache)
    s, conv_pool_cache = conv_pool_forward_fast(x, w, b, conv_param, pool_param)
    out, relu_cache = relu_forward(s)
    return out, ("layers", (conv_pool_cache, relu_cache))


def conv_relu_pool_backward(dout, cache, need_dx=True):
    """Backward pass for the conv-relu-pool convenience layer.

    need_dx=False skips the input gradient (dx is None), for a network's first layer.
    """
    kind, cache = cache
    if kind == "fused":
        return conv_relu_pool_backward_fast(dout, cache, need_dx=need_dx)
    conv_pool_cache, relu_cache = cache
    ds = relu_backward(dout, relu_cache)
    dx, dw, db = conv_pool_backward_fast(ds, conv_pool_cache, need_dx=need_dx)
    return dx, dw, db
