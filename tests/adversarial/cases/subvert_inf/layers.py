# Attack: inf - inf is NaN inside a relative error.
_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    out = out.copy()
    out.flat[::2] = np.inf
    return out, cache
