"""Two small array operations: the students write both."""

import numpy as np


def scaled_sum(x, axis, scale):
    """Sum of `x` along `axis`, times `scale`."""
    out = None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("scaled_sum: not implemented yet — write your code between the START/END OF YOUR CODE lines in tinyops/ops.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return out


def softmax(x):
    """Row-wise softmax of a 2-D array of scores, stable for large scores."""
    probs = None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("softmax: not implemented yet — write your code between the START/END OF YOUR CODE lines in tinyops/ops.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return probs
