# Attack: compute and print the right answer, then exit 0 without returning it.
import os as _os
import sys as _sys

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    print(repr(out.tolist()))
    _sys.stdout.flush()
    _os._exit(0)
