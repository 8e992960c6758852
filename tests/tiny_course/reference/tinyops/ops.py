"""Two small array operations: the students write both."""

import numpy as np


def scaled_sum(x, axis, scale):
    """Sum of `x` along `axis`, times `scale`."""
    out = None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    out = scale * np.sum(x, axis=axis)
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return out


def softmax(x):
    """Row-wise softmax of a 2-D array of scores, stable for large scores."""
    probs = None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    shifted = x - np.max(x, axis=1, keepdims=True)
    exp = np.exp(shifted)
    probs = exp / np.sum(exp, axis=1, keepdims=True)
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return probs
