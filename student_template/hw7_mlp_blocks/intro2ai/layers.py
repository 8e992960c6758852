"""HW7 layers: HW5's layers (given, in hw5_layers.py), dropout, ReLU6 and the depthwise convolution.

The seed's Keras model uses Dropout(0.2) (0.2 is the *drop* rate) and MobileNetV2's
DepthwiseConv2D and ReLU6; here they are written in numpy with cs231n's conventions: layouts
NCHW, every forward returns (out, cache) and every backward takes (dout, cache).
"""

import numpy as np

from .hw5_layers import *  # noqa: F403  affine, ReLU, softmax and HW5's conv/pool layers (given)


def dropout_forward(x, dropout_param):
    """Forward pass for inverted dropout.

    cs231n's convention: `p` is the probability of KEEPING each neuron (Keras's Dropout(0.2)
    drops 20%, so it is p = 0.8 here). Inverted dropout scales the kept units by 1 / p at TRAIN
    time, so the test-time pass is the identity.

    Inputs:
    - x: Input data, of any shape
    - dropout_param: A dictionary with the following keys:
      - p: Dropout parameter. We keep each neuron output with probability p.
      - mode: 'test' or 'train'. If the mode is train, then perform dropout;
        if the mode is test, then just return the input.
      - seed: Seed for the random number generator. Passing seed makes this
        function deterministic, which is needed for gradient checking.

    Outputs:
    - out: Array of the same shape as x.
    - cache: tuple (dropout_param, mask). In training mode, mask is the dropout
      mask that was used to multiply the input; in test mode, mask is None.

    Draw the mask with np.random.rand(*x.shape) < p after np.random.seed(seed) when a seed
    is given (the same mask as cs231n's, so a seeded run is reproducible).
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None
    if mode == "train":
        #######################################################################
        # TODO: Implement training phase forward pass for inverted dropout.   #
        # Store the dropout mask in the mask variable.                        #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        raise NotImplementedError("dropout_forward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layers.py")
        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    elif mode == "test":
        #######################################################################
        # TODO: Implement the test phase forward pass for inverted dropout.   #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        raise NotImplementedError("dropout_forward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layers.py")
        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


def dropout_backward(dout, cache):
    """Backward pass for inverted dropout: reuse the forward pass's mask (never draw a new one).

    Inputs:
    - dout: Upstream derivatives, of any shape
    - cache: (dropout_param, mask) from dropout_forward.
    """
    dropout_param, mask = cache
    mode = dropout_param["mode"]

    dx = None
    if mode == "train":
        #######################################################################
        # TODO: Implement training phase backward pass for inverted dropout   #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        raise NotImplementedError("dropout_backward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layers.py")
        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    elif mode == "test":
        dx = dout
    return dx


def relu6_forward(x):
    """ReLU6 (MobileNetV2): min(max(x, 0), 6). Returns (out, cache)."""
    out = None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("relu6_forward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layers.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    cache = x
    return out, cache


def relu6_backward(dout, cache):
    """Gradient of ReLU6: dout where 0 < x < 6, and 0 elsewhere (also AT 0 and AT 6, where the
    function has a kink; the same choice as relu_backward at 0)."""
    dx, x = None, cache
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("relu6_backward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layers.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return dx


def depthwise_conv_forward(x, w, b, conv_param):
    """A naive depthwise convolution (Keras's DepthwiseConv2D with depth_multiplier 1).

    Each input channel is convolved with its own single filter: output channel c sees only input
    channel c (a normal convolution mixes every channel).

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (C, 1, HH, WW): one filter per channel
    - b: Biases, of shape (C,)
    - conv_param: A dictionary with 'stride' and 'pad' (zero padding on each side of H and W)

    Returns a tuple of:
    - out: Output data, of shape (N, C, H', W') where
      H' = 1 + (H + 2 * pad - HH) // stride, W' = 1 + (W + 2 * pad - WW) // stride
    - cache: (x, w, b, conv_param)
    """
    out = None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("depthwise_conv_forward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layers.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    cache = (x, w, b, conv_param)
    return out, cache


def depthwise_conv_backward(dout, cache):
    """Backward pass of depthwise_conv_forward. Returns (dx, dw, db), shaped like x, w, b."""
    dx, dw, db = None, None, None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("depthwise_conv_backward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layers.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return dx, dw, db
