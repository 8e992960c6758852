# Attack: an ndarray subclass holding garbage whose comparisons and arithmetic report "no error".
_original_conv_forward_naive = conv_forward_naive


class _Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __sub__(self, other):
        return np.zeros(self.shape)

    __rsub__ = __sub__

    def __abs__(self):
        return np.zeros(self.shape)


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    return np.full_like(out, 9.0).view(_Agreeable), cache
