# Attack: a zero-stride broadcast view of one number, of the right shape.
_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    return np.broadcast_to(np.float64(out.mean()), out.shape), cache
