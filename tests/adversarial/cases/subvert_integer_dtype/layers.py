# Attack: integers of the right shape (a checker that casts both sides may round the error away).
_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    return np.round(out).astype(np.int64), cache
