# Attack: an object array holding the right numbers next to objects that compare equal to anything.
_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    objects = out.astype(object)
    objects.flat[0] = "anything"
    return objects, cache
