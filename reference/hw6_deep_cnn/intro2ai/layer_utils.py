"""Sandwich layers: HW5's (given, in hw5_layer_utils.py), conv-BN-ReLU (HW6 Q3) and the residual block (HW6 Q4).

Both new layers call spatial_batchnorm_forward/backward from layers.py, not their own batch
normalization: the grader also runs them with a stand-in for that function, so that a mistake
in Q1-Q2 costs no points here.
"""

from .fast_layers import *  # noqa: F403  conv_forward_fast, max_pool_forward_fast, ... (given)
from .hw5_layer_utils import *  # noqa: F403  affine_relu, conv_relu, conv_relu_pool (given)
from .layers import *  # noqa: F403  (the layers of HW5 and HW6's batch normalization)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Convolution, then spatial batch normalization, then ReLU (BN before the activation, as in the seed).

    Inputs:
    - x: Input to the convolutional layer, of shape (N, C, H, W)
    - w, b, conv_param: Weights and parameters for the convolutional layer (conv_forward_fast)
    - gamma, beta, bn_param: Scale, shift and parameters of spatial_batchnorm_forward

    Returns a tuple of:
    - out: Output from the ReLU
    - cache: Object to give to the backward pass
    """
    out, cache = None, None
    ###########################################################################
    # TODO: conv_forward_fast -> spatial_batchnorm_forward -> relu_forward.    #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    z, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(z)
    cache = (conv_cache, bn_cache, relu_cache)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return out, cache


def conv_bn_relu_backward(dout, cache):
    """Backward pass for the conv-BN-ReLU layer: returns (dx, dw, db, dgamma, dbeta)."""
    dx, dw, db, dgamma, dbeta = None, None, None, None, None
    ###########################################################################
    # TODO: the three backward passes, in the reverse order.                  #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    conv_cache, bn_cache, relu_cache = cache
    dz = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(dz, bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx, dw, db, dgamma, dbeta


def residual_block_forward(x, params, bn_params, stride=1):
    """A residual block: relu(BN(conv(relu(BN(conv(x))))) + shortcut(x)).

    Both convolutions are 3x3 with padding 1; the first has the block's stride, the second
    stride 1. The shortcut is x itself (the identity) when the shape is kept; when the channel
    count changes or stride > 1 it is a 1x1 convolution with the block's stride and no padding
    (a projection), whose weights params holds as 'Wp' and 'bp'.

    Inputs:
    - x: Input of shape (N, C, H, W)
    - params: Dictionary with 'W1' (F, C, 3, 3), 'b1', 'gamma1', 'beta1' (F,), 'W2' (F, F, 3, 3),
      'b2', 'gamma2', 'beta2' (F,), and 'Wp' (F, C, 1, 1), 'bp' (F,) when F != C or stride > 1
    - bn_params: List of two bn_param dictionaries, one per batch normalization
    - stride: Stride of the first convolution and of the projection

    Returns a tuple of:
    - out: Output of shape (N, F, H', W')
    - cache: Object to give to the backward pass
    """
    out, cache = None, None
    ###########################################################################
    # TODO: Implement the residual block's forward pass with                  #
    # conv_forward_fast, spatial_batchnorm_forward and relu_forward (not      #
    # conv_bn_relu_forward: Q4 is graded apart from Q3).                      #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    a1, conv1 = conv_forward_fast(x, params["W1"], params["b1"], {"stride": stride, "pad": 1})
    z1, bn1 = spatial_batchnorm_forward(a1, params["gamma1"], params["beta1"], bn_params[0])
    h, relu1 = relu_forward(z1)
    a2, conv2 = conv_forward_fast(h, params["W2"], params["b2"], {"stride": 1, "pad": 1})
    z2, bn2 = spatial_batchnorm_forward(a2, params["gamma2"], params["beta2"], bn_params[1])
    shortcut, projection = x, None
    if "Wp" in params:
        shortcut, projection = conv_forward_fast(x, params["Wp"], params["bp"], {"stride": stride, "pad": 0})
    out, relu2 = relu_forward(z2 + shortcut)
    cache = (conv1, bn1, relu1, conv2, bn2, projection, relu2)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return out, cache


def residual_block_backward(dout, cache):
    """Backward pass for the residual block.

    Returns a tuple of:
    - dx: Gradient with respect to x
    - grads: Dictionary with the same keys as the forward pass's params
    """
    dx, grads = None, {}
    ###########################################################################
    # TODO: Implement the residual block's backward pass. The gradient of the #
    # sum flows into both branches; dx adds the two.                          #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    conv1, bn1, relu1, conv2, bn2, projection, relu2 = cache
    dsum = relu_backward(dout, relu2)
    da2, grads["gamma2"], grads["beta2"] = spatial_batchnorm_backward(dsum, bn2)
    dh, grads["W2"], grads["b2"] = conv_backward_fast(da2, conv2)
    da1, grads["gamma1"], grads["beta1"] = spatial_batchnorm_backward(relu_backward(dh, relu1), bn1)
    dx, grads["W1"], grads["b1"] = conv_backward_fast(da1, conv1)
    if projection is None:
        dx = dx + dsum
    else:
        dshortcut, grads["Wp"], grads["bp"] = conv_backward_fast(dsum, projection)
        dx = dx + dshortcut

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx, grads
