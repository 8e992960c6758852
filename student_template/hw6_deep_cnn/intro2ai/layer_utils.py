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
    raise NotImplementedError("conv_bn_relu_forward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layer_utils.py")
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
    raise NotImplementedError("conv_bn_relu_backward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layer_utils.py")
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
    raise NotImplementedError("residual_block_forward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layer_utils.py")
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
    raise NotImplementedError("residual_block_backward: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/layer_utils.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx, grads
