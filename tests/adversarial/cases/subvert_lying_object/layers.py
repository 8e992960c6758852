# Attack: an object that claims equality with anything and converts to whatever is asked.
_original_conv_forward_naive = conv_forward_naive


class _Liar:
    def __init__(self, shape):
        self.shape, self.dtype, self.ndim = shape, np.dtype("float64"), len(shape)

    def __eq__(self, other):
        return True

    __le__ = __ge__ = __eq__

    def __ne__(self, other):
        return False

    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape)

    def __float__(self):
        return 0.0

    def __sub__(self, other):
        return np.zeros(self.shape)

    __rsub__ = __sub__


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    return _Liar(out.shape), cache
