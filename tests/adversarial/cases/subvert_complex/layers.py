# Attack: complex numbers whose real part is right and whose imaginary part hides garbage.
_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    return out + 1e6j, cache
