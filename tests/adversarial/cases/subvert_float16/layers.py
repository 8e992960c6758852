# Attack: a low-precision answer: right to three digits, hoping the comparison casts it down.
_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    return out.astype(np.float16), cache
