# Attack: blind the runner's exact-type check (type() always answers ndarray) and return a masked
# array whose visible values are right but whose data underneath is garbage.
import builtins as _builtins
import sys as _sys

_original_conv_forward_naive = conv_forward_naive
_real_type = type


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    runner = _sys.modules["__main__"]
    runner.type = lambda value, *rest: np.ndarray if not rest and isinstance(value, np.ndarray) else _real_type(value, *rest)
    _builtins.type = runner.type
    lying = np.ma.masked_array(np.full_like(out, 5.0), mask=np.ones_like(out, dtype=bool))
    return lying, cache
