# Attack: corrupt the result stream so that the grader cannot tell what happened.
import os as _os
import sys as _sys

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    _os.write(int(_sys.argv[2]), b"AGR1\xff\xff\xff\xff" + b"\x00" * 4096 + b'{"status": "ok"}')
    return _original_conv_forward_naive(x, w, b, conv_param)
