# Attack: right shape and dtype, random content.
_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    return np.random.default_rng(0).standard_normal(out.shape), cache
