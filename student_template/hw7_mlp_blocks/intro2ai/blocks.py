"""HW7 blocks of the Functional API, in numpy: a residual Add, an Inception module, MobileNetV2's
inverted residual block.

The seed builds them with Keras's Functional API (Input -> layers -> Add / Concatenate); here each
block is a forward function returning (out, cache) and a backward returning (dx, grads), grads a
dict with the same keys as `params`. Convolutions use HW5's conv_forward_naive /
conv_backward_naive (given), layouts are NCHW, and channels are axis 1 (Keras's last axis).
"""

import numpy as np

from .layers import (
    conv_backward_naive,
    conv_forward_naive,
    depthwise_conv_backward,
    depthwise_conv_forward,
    max_pool_backward_naive,
    max_pool_forward_naive,
    relu6_backward,
    relu6_forward,
    relu_backward,
    relu_forward,
)


def _same(w):
    """conv_param of a stride-1 'same' convolution with w's (odd) kernel size."""
    return {"stride": 1, "pad": (w.shape[2] - 1) // 2}


def conv_relu_same_forward(x, w, b):
    """A stride-1 'same' convolution followed by ReLU (given)."""
    a, conv_cache = conv_forward_naive(x, w, b, _same(w))
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_same_backward(dout, cache):
    """Backward of conv_relu_same_forward: (dx, dw, db) (given)."""
    conv_cache, relu_cache = cache
    return conv_backward_naive(relu_backward(dout, relu_cache), conv_cache)


def residual_forward(x, params):
    """The seed's Functional-API residual block: conv 3x3 'same' + ReLU, conv 3x3 'same', Add.

    out = conv2(relu(conv1(x))) + x, with params 'w1', 'b1', 'w2', 'b2'. Like Keras's Add, the two
    inputs must have the same shape: check it and raise ValueError("Inputs have incompatible shapes
    ...") naming both shapes when conv2's output does not match x (the seed's error). Never rely on
    numpy: it broadcasts a 1-channel output silently and fails with its own error otherwise.
    """
    out, cache = None, None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("residual_forward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/blocks.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return out, cache


def residual_backward(dout, cache):
    """Backward of residual_forward: (dx, grads) with grads keys 'w1', 'b1', 'w2', 'b2'."""
    dx, grads = None, {}
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("residual_backward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/blocks.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return dx, grads


def inception_forward(x, params):
    """An Inception module (GoogLeNet, the seed's HW2): four branches concatenated on channels.

    Branches, each convolution 'same' with stride 1 and followed by ReLU:
    1. 1x1 conv ('w1', 'b1')
    2. 1x1 reduction ('w3r', 'b3r'), then 3x3 conv ('w3', 'b3')
    3. 1x1 reduction ('w5r', 'b5r'), then 5x5 conv ('w5', 'b5')
    4. 3x3 max pooling with stride 1 and 'same' padding (pad 1; padded cells never win the max),
       then a 1x1 projection ('wp', 'bp')
    Output: (N, F1 + F3 + F5 + FP, H, W), the branches in this order (np.concatenate, axis=1).
    """
    out, cache = None, None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("inception_forward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/blocks.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return out, cache


def inception_backward(dout, cache):
    """Backward of inception_forward: (dx, grads), grads with the keys of params."""
    dx, grads = None, {}
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("inception_backward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/blocks.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return dx, grads


def inverted_residual_forward(x, params, block_param):
    """MobileNetV2's inverted residual block (expansion, depthwise, linear bottleneck, residual).

    1. expansion: 1x1 conv from C to C*t channels ('w_exp' (C*t, C, 1, 1), 'b_exp'), then ReLU6
    2. depthwise: 3x3 depthwise conv with block_param['stride'] and pad 1 ('w_dw' (C*t, 1, 3, 3),
       'b_dw'), then ReLU6
    3. linear bottleneck: 1x1 conv from C*t to C_out channels ('w_proj', 'b_proj'), NO activation
    4. residual: add x only when the stride is 1 and C_out == C; otherwise no skip
    """
    out, cache = None, None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("inverted_residual_forward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/blocks.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return out, cache


def inverted_residual_backward(dout, cache):
    """Backward of inverted_residual_forward: (dx, grads), grads with the keys of params."""
    dx, grads = None, {}
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("inverted_residual_backward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/blocks.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return dx, grads
