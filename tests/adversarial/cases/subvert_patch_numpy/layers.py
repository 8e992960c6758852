# Attack: make every numpy comparison a grader could use say "equal", then return garbage.
import numpy.testing as _testing

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    garbage = np.full_like(out, 7.0)
    np.allclose = lambda *a, **k: True
    np.array_equal = lambda *a, **k: True
    np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
    np.max = lambda *a, **k: 0.0
    np.abs = lambda value, *a, **k: value * 0
    np.isfinite = lambda value, *a, **k: np.ones(np.shape(value), dtype=bool)
    _testing.assert_allclose = lambda *a, **k: None
    _testing.assert_array_almost_equal = lambda *a, **k: None
    return garbage, cache
