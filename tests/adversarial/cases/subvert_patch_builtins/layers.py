# Attack: rebind builtins a checker uses (max, abs, float, round, all, isinstance) to lie.
import builtins as _builtins

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    garbage = out * 0 + 3.0
    _builtins.max = lambda *a, **k: 0.0
    _builtins.abs = lambda value: 0.0
    _builtins.round = lambda *a, **k: 0.0
    _builtins.all = lambda *a, **k: True
    return garbage, cache
