"""Reference intro2ai layers: the seed notebook's cells 3-9, general shapes, and fast vs naive."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from intro2ai import fast_layers, im2col
from intro2ai.fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from intro2ai.gradient_check import eval_numerical_gradient_array
from intro2ai.layer_utils import (
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from intro2ai.layers import (
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)

from autograder.grading.judge import rel_error

PACKAGE = Path(fast_layers.__file__).resolve().parent


def conv_oracle(x, w, b, stride, pad):
    """Convolution straight from its definition, one output value at a time."""
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    out = np.empty((N, F, H_out, W_out))
    for n, f, i, j in itertools.product(range(N), range(F), range(H_out), range(W_out)):
        field = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
        out[n, f, i, j] = np.sum(field * w[f]) + b[f]
    return out


def pool_oracle(x, ph, pw, stride):
    """Max pooling straight from its definition."""
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - ph) // stride, 1 + (W - pw) // stride
    out = np.empty((N, C, H_out, W_out))
    for n, c, i, j in itertools.product(range(N), range(C), range(H_out), range(W_out)):
        out[n, c, i, j] = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw].max()
    return out


# ------------------------------------------------------------------ the seed notebook's cells


def test_conv_forward_naive_seed_cell_3():
    x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=np.prod(x_shape)).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=np.prod(w_shape)).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    correct_out = np.array([[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                             [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                             [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
                            [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                             [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                             [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]])
    out, cache = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    assert rel_error(out, correct_out) < 1e-7  # the notebook: "around e-8"
    assert cache[0] is x and cache[1] is w and cache[2] is b


def test_conv_backward_naive_seed_cell_5():
    np.random.seed(231)
    x = np.random.randn(4, 3, 5, 5)
    w = np.random.randn(2, 3, 3, 3)
    b = np.random.randn(2)
    dout = np.random.randn(4, 2, 5, 5)
    conv_param = {"stride": 1, "pad": 1}
    dx_num = eval_numerical_gradient_array(lambda x: conv_forward_naive(x, w, b, conv_param)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: conv_forward_naive(x, w, b, conv_param)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: conv_forward_naive(x, w, b, conv_param)[0], b, dout)
    dx, dw, db = conv_backward_naive(dout, conv_forward_naive(x, w, b, conv_param)[1])
    assert rel_error(dx, dx_num) < 1e-7  # the notebook: "around e-8 or less"
    assert rel_error(dw, dw_num) < 1e-7
    assert rel_error(db, db_num) < 1e-7


def test_max_pool_forward_naive_seed_cell_6():
    x_shape = (2, 3, 4, 4)
    x = np.linspace(-0.3, 0.4, num=np.prod(x_shape)).reshape(x_shape)
    correct_out = np.array([[[[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
                             [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
                             [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]]],
                            [[[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
                             [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
                             [[0.32631579, 0.34105263], [0.38526316, 0.4]]]])
    pool_param = {"pool_width": 2, "pool_height": 2, "stride": 2}
    out, cache = max_pool_forward_naive(x, pool_param)
    assert rel_error(out, correct_out) < 1e-7
    assert cache[0] is x and cache[1] is pool_param


def test_max_pool_backward_naive_seed_cell_7():
    np.random.seed(231)
    x = np.random.randn(3, 2, 8, 8)
    dout = np.random.randn(3, 2, 4, 4)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dx_num = eval_numerical_gradient_array(lambda x: max_pool_forward_naive(x, pool_param)[0], x, dout)
    dx = max_pool_backward_naive(dout, max_pool_forward_naive(x, pool_param)[1])
    assert rel_error(dx, dx_num) < 1e-11  # the notebook: "on the order of e-12"


@pytest.mark.parametrize(
    ("forward", "backward", "x_shape", "dout_shape", "pool"),
    [
        (conv_relu_pool_forward, conv_relu_pool_backward, (2, 3, 16, 16), (2, 3, 8, 8), True),  # cell 8
        (conv_relu_forward, conv_relu_backward, (2, 3, 8, 8), (2, 3, 8, 8), False),  # cell 9
    ],
)
def test_sandwich_gradients_seed_cells_8_9(forward, backward, x_shape, dout_shape, pool):
    np.random.seed(231)
    x = np.random.randn(*x_shape)
    w = np.random.randn(3, 3, 3, 3)
    b = np.random.randn(3)
    dout = np.random.randn(*dout_shape)
    params = [{"stride": 1, "pad": 1}]
    if pool:
        params.append({"pool_height": 2, "pool_width": 2, "stride": 2})
    dx, dw, db = backward(dout, forward(x, w, b, *params)[1])
    dx_num = eval_numerical_gradient_array(lambda x: forward(x, w, b, *params)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: forward(x, w, b, *params)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: forward(x, w, b, *params)[0], b, dout)
    assert rel_error(dx_num, dx) < 1e-7  # the notebook: "around e-8 or less"
    assert rel_error(dw_num, dw) < 1e-7
    assert rel_error(db_num, db) < 1e-7


def test_conv_relu_pool_backward_can_skip_dx():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    out, cache = conv_relu_pool_forward(x, w, b, {"stride": 1, "pad": 1},
                                        {"pool_height": 2, "pool_width": 2, "stride": 2})
    dout = rng.standard_normal(out.shape)
    _, dw, db = conv_relu_pool_backward(dout, cache)
    dx, dw_only, db_only = conv_relu_pool_backward(dout, cache, need_dx=False)
    assert dx is None
    np.testing.assert_array_equal(dw_only, dw)
    np.testing.assert_array_equal(db_only, db)


# ------------------------------------------------------------------ every valid shape

CONV_CASES = [  # x_shape, w_shape, stride, pad
    ((2, 3, 5, 5), (2, 3, 3, 3), 1, 0),  # no padding
    ((2, 2, 7, 7), (3, 2, 3, 3), 2, 1),
    ((1, 2, 10, 10), (2, 2, 4, 4), 3, 1),  # stride 3
    ((2, 3, 6, 9), (2, 3, 3, 5), 1, 2),  # non-square input and kernel
    ((2, 1, 7, 5), (3, 1, 1, 1), 2, 0),  # 1x1 kernel, odd sizes
    ((1, 2, 8, 6), (2, 2, 2, 3), 2, 1),  # even kernel, stride 2, non-square
]
POOL_CASES = [  # x_shape, pool_height, pool_width, stride
    ((2, 3, 8, 8), 2, 2, 2),
    ((2, 2, 6, 9), 2, 3, 3),  # rectangular pool
    ((2, 2, 7, 7), 3, 3, 2),  # overlapping
    ((1, 3, 5, 6), 2, 3, 1),  # overlapping, rectangular, stride 1
    ((2, 2, 9, 9), 2, 2, 3),  # gaps between windows
]


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "pad"), CONV_CASES)
def test_conv_naive_general_shapes(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(sum(x_shape) + stride)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    x_before = x.copy()
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_naive(x, w, b, conv_param)
    np.testing.assert_array_equal(x, x_before)  # x itself is never padded in place
    assert rel_error(out, conv_oracle(x, w, b, stride, pad)) < 1e-10

    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    f = lambda x, w, b: conv_forward_naive(x, w, b, conv_param)[0]  # noqa: E731
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: f(v, w, b), x, dout)) < 1e-7
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: f(x, v, b), w, dout)) < 1e-7
    assert rel_error(db, eval_numerical_gradient_array(lambda v: f(x, w, v), b, dout)) < 1e-7


@pytest.mark.parametrize(("x_shape", "ph", "pw", "stride"), POOL_CASES)
def test_max_pool_naive_general_shapes(x_shape, ph, pw, stride):
    rng = np.random.default_rng(sum(x_shape) + ph)
    x = rng.standard_normal(x_shape)
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, cache = max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(out, pool_oracle(x, ph, pw, stride))

    dout = rng.standard_normal(out.shape)
    dx = max_pool_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: max_pool_forward_naive(v, pool_param)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-10


def test_max_pool_backward_ties_go_to_the_first_maximum():
    x = np.zeros((1, 1, 3, 3))
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 1}  # every window is all ties
    expected = np.array([[[[1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]]])
    np.testing.assert_array_equal(max_pool_backward_naive(dout, max_pool_forward_naive(x, pool_param)[1]), expected)
    np.testing.assert_array_equal(max_pool_backward_fast(dout, max_pool_forward_fast(x, pool_param)[1]), expected)


# ------------------------------------------------------------------ fast layers, both im2col paths


@pytest.fixture(scope="session")
def compiled_im2col(compiled_kernels):
    """im2col_cython built from the package's own .pyx and setup.py in a temporary folder."""
    return compiled_kernels("im2col_cython")


@pytest.fixture(params=["numpy", "cython"])
def im2col_backend(request, monkeypatch):
    """Runs a test once with the pure-numpy im2col (and pool gradient) and once with the compiled ones."""
    if request.param == "numpy":
        monkeypatch.setattr(fast_layers, "im2col", im2col.im2col)
        monkeypatch.setattr(fast_layers, "col2im", im2col.col2im)
        monkeypatch.setattr(fast_layers, "pool_blocks_backward", None)
        monkeypatch.setattr(fast_layers, "pool_bias_relu_forward", None)
        monkeypatch.setattr(fast_layers, "pool_relu_backward", None)
    else:
        compiled = request.getfixturevalue("compiled_im2col")
        monkeypatch.setattr(fast_layers, "im2col", compiled.im2col_cython)
        monkeypatch.setattr(fast_layers, "col2im", compiled.col2im_cython)
        monkeypatch.setattr(fast_layers, "pool_blocks_backward", compiled.pool_blocks_backward)
        monkeypatch.setattr(fast_layers, "pool_bias_relu_forward", compiled.pool_bias_relu_forward)
        monkeypatch.setattr(fast_layers, "pool_relu_backward", compiled.pool_relu_backward)
    return request.param


def assert_matches(actual, expected, dtype):
    """Same dtype and shape, and equal up to rounding: float64 to ~1e-12, float32 to ~1e-6 of the
    largest value (an element-wise relative error means little for float32 sums near zero)."""
    assert actual.dtype == dtype and actual.shape == expected.shape
    scale = np.max(np.abs(expected))
    tolerance = 1e-12 if dtype == np.float64 else 2e-6
    assert np.max(np.abs(actual - expected)) <= tolerance * scale


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "pad"),
                         [*CONV_CASES, ((3, 3, 32, 32), (4, 3, 7, 7), 1, 3)])
def test_conv_fast_matches_naive(im2col_backend, x_shape, w_shape, stride, pad, dtype):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    x_before = x.copy()
    conv_param = {"stride": stride, "pad": pad}
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    np.testing.assert_array_equal(x, x_before)
    # the naive layer in float64 on the same values is the yardstick
    as64 = [v.astype(np.float64) for v in (x, w, b)]
    out_naive, cache_naive = conv_forward_naive(*as64, conv_param)
    assert_matches(out_fast, out_naive, dtype)

    dout = rng.standard_normal(out_naive.shape).astype(dtype)
    for grad_fast, grad_naive in zip(conv_backward_fast(dout, cache_fast),
                                     conv_backward_naive(dout.astype(np.float64), cache_naive),
                                     strict=True):
        assert_matches(grad_fast, grad_naive, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("x_shape", "ph", "pw", "stride"), [*POOL_CASES, ((4, 8, 32, 32), 2, 2, 2)])
def test_max_pool_fast_matches_naive(x_shape, ph, pw, stride, dtype):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(dtype)
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
    assert out_fast.dtype == dtype
    np.testing.assert_array_equal(out_fast, out_naive)
    dout = rng.standard_normal(out_naive.shape).astype(dtype)
    # overlapping windows add into dx in another order than the naive loop: equal up to rounding
    assert_matches(max_pool_backward_fast(dout, cache_fast), max_pool_backward_naive(dout, cache_naive), dtype)


def test_max_pool_fast_on_a_transposed_view():
    """The conv layer hands the pool a transposed view; memory order must not change the result."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 2, 6, 6)).transpose(1, 0, 2, 3)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out, pool_oracle(x, 2, 2, 2))
    dout = rng.standard_normal(out.shape)
    dx = max_pool_backward_fast(dout, cache)
    np.testing.assert_array_equal(dx, max_pool_backward_naive(dout, max_pool_forward_naive(x, pool_param)[1]))


CONV_POOL_CASES = [  # x_shape, w_shape, conv stride, pad, pool_height, pool_width, pool stride
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 1, 2, 2, 2),  # the network's layer: windows tile the output
    ((2, 2, 7, 9), (3, 2, 3, 3), 1, 1, 2, 2, 2),  # odd output: the last row/column is not pooled
    ((1, 2, 10, 10), (2, 2, 3, 3), 1, 0, 3, 3, 3),  # 3x3 windows, output 8x8: two rows left over
    ((2, 2, 11, 9), (3, 2, 3, 2), 2, 1, 2, 2, 2),  # strided conv, non-square kernel
    ((2, 2, 8, 8), (3, 2, 3, 3), 1, 1, 3, 3, 2),  # overlapping pool: the two layers one by one
    ((2, 2, 8, 9), (3, 2, 3, 3), 1, 1, 2, 3, 3),  # rectangular pool
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "pad", "ph", "pw", "pool_stride"), CONV_POOL_CASES)
def test_conv_pool_fast_matches_naive(im2col_backend, x_shape, w_shape, stride, pad, ph, pw,
                                      pool_stride, dtype):
    rng = np.random.default_rng(13)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    conv_param = {"stride": stride, "pad": pad}
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": pool_stride}
    out, cache = fast_layers.conv_pool_forward_fast(x, w, b, conv_param, pool_param)
    as64 = [v.astype(np.float64) for v in (x, w, b)]
    conv_out, conv_cache = conv_forward_naive(*as64, conv_param)
    expected, pool_cache = max_pool_forward_naive(conv_out, pool_param)
    assert_matches(out, expected, dtype)

    dout = rng.standard_normal(out.shape).astype(dtype)
    expected_grads = conv_backward_naive(max_pool_backward_naive(dout.astype(np.float64), pool_cache), conv_cache)
    for grad, expected_grad in zip(fast_layers.conv_pool_backward_fast(dout, cache), expected_grads, strict=True):
        assert_matches(grad, expected_grad, dtype)


def test_conv_pool_fast_ties_go_to_the_first_maximum(im2col_backend):
    """Zero filters make every conv output equal: each window's gradient goes to its first one."""
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    w, b = np.zeros((1, 1, 1, 1)), np.ones(1)
    conv_param, pool_param = {"stride": 1, "pad": 0}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = fast_layers.conv_pool_forward_fast(x, w, b, conv_param, pool_param)
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    _, dw, db = fast_layers.conv_pool_backward_fast(dout, cache)
    np.testing.assert_array_equal(out, np.ones((1, 1, 2, 2)))
    assert db[0] == 10.0
    assert dw[0, 0, 0, 0] == pytest.approx(x[0, 0, 0::2, 0::2].ravel() @ [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "pad", "ph", "pw", "pool_stride"), CONV_POOL_CASES)
def test_conv_relu_pool_matches_the_naive_layers(im2col_backend, x_shape, w_shape, stride, pad, ph, pw,
                                                 pool_stride, dtype):
    """layer_utils' conv-relu-pool (one compiled pass for pool, bias and ReLU where the pool tiles)
    against conv, ReLU and pool run one after the other with the naive layers, about half of the
    outputs cut by the ReLU (biases from -2 to +2 standard deviations of a conv output)."""
    rng = np.random.default_rng(17)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = (np.linspace(-2, 2, w_shape[0]) * np.sqrt(np.prod(w_shape[1:]))).astype(dtype)  # +-2 sd of a conv output
    conv_param = {"stride": stride, "pad": pad}
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": pool_stride}
    out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool_param)
    as64 = [v.astype(np.float64) for v in (x, w, b)]
    conv_out, conv_cache = conv_forward_naive(*as64, conv_param)
    relu_out = np.maximum(conv_out, 0)
    expected, pool_cache = max_pool_forward_naive(relu_out, pool_param)
    assert_matches(out, expected, dtype)
    assert 0.1 < np.mean(expected == 0) < 0.9

    dout = rng.standard_normal(out.shape).astype(dtype)
    drelu = max_pool_backward_naive(dout.astype(np.float64), pool_cache) * (conv_out > 0)
    expected_grads = conv_backward_naive(drelu, conv_cache)
    for grad, expected_grad in zip(conv_relu_pool_backward(dout, cache), expected_grads, strict=True):
        assert_matches(grad, expected_grad, dtype)


def test_conv_relu_pool_ties_zeros_and_nan(compiled_im2col, monkeypatch):
    """The compiled pool-bias-ReLU pass: a tie's gradient goes to the window's first maximum; an
    output the ReLU cuts passes no gradient, to the weights or the bias; a NaN reaches the output
    (a diverging network must still show NaN in its loss)."""
    monkeypatch.setattr(fast_layers, "pool_bias_relu_forward", compiled_im2col.pool_bias_relu_forward)
    monkeypatch.setattr(fast_layers, "pool_relu_backward", compiled_im2col.pool_relu_backward)
    monkeypatch.setattr(fast_layers, "im2col", compiled_im2col.im2col_cython)
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    conv_param, pool_param = {"stride": 1, "pad": 0}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    w, b = np.zeros((2, 1, 1, 1)), np.array([1.0, -1.0])  # every conv output ties; filter 1 is cut
    out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool_param)
    assert cache[0] == "fused"
    np.testing.assert_array_equal(out, np.stack([np.ones((2, 2)), np.zeros((2, 2))])[None])
    dout = np.arange(1.0, 9.0).reshape(1, 2, 2, 2)
    _, dw, db = conv_relu_pool_backward(dout, cache)
    np.testing.assert_array_equal(db, [10.0, 0.0])
    assert dw[0, 0, 0, 0] == pytest.approx(x[0, 0, 0::2, 0::2].ravel() @ [1.0, 2.0, 3.0, 4.0])
    assert dw[1, 0, 0, 0] == 0.0

    x[0, 0, 3, 3] = np.nan
    out, _ = conv_relu_pool_forward(x, np.ones((2, 1, 1, 1)), b, conv_param, pool_param)
    assert np.isnan(out[0, :, 1, 1]).all() and np.isfinite(out[0, :, 0, :]).all()


@pytest.mark.parametrize(("padded_shape", "field", "stride", "block"), [
    ((3, 2, 12, 12), (3, 3), 1, (1, 1)),
    ((3, 2, 12, 12), (3, 3), 1, (2, 2)),
    ((2, 3, 11, 13), (3, 2), 2, (2, 2)),
    ((2, 1, 10, 9), (2, 3), 1, (3, 3)),
])
def test_compiled_im2col_equals_numpy_im2col(compiled_im2col, padded_shape, field, stride, block):
    rng = np.random.default_rng(17)
    x_padded = rng.standard_normal(padded_shape)
    cols = im2col.im2col(x_padded, *field, stride, block)
    np.testing.assert_array_equal(compiled_im2col.im2col_cython(x_padded, *field, stride, block), cols)
    dcols = rng.standard_normal(cols.shape)
    back = im2col.col2im(dcols, padded_shape, *field, stride, block)
    np.testing.assert_allclose(compiled_im2col.col2im_cython(dcols, padded_shape, *field, stride, block),
                               back, rtol=1e-12, atol=1e-12)
    # col2im is the adjoint of im2col: <im2col(x), d> == <x, col2im(d)>
    assert np.vdot(cols, dcols) == pytest.approx(np.vdot(x_padded, back), rel=1e-10)
