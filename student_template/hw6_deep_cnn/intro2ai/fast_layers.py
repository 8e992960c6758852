"""Fast conv and max-pool layers: the naive layers' contract, vectorised for training.

Convolution is im2col + one BLAS matrix product. Images are rearranged channel-major,
(C, N, H, W), so the product (F, C*HH*WW) @ (C*HH*WW, N*H_out*W_out) yields the output already
in (F, N, H_out, W_out) memory order; it is returned as a transposed view of shape
(N, F, H_out, W_out), and the gradients flow back in the same order without copies.
Every array keeps the input dtype: float32 stays float32.

im2col comes from the compiled im2col_cython when it has been built
(`python setup.py build_ext --inplace` in this folder), else from the pure-numpy im2col.py.
The compiled one is the default because it is faster. Measured on the 2-core course machine,
float32, a batch of 50 (ms, numpy vs compiled): 3x38x38 padded images, 7x7 filters: im2col
2.3 vs 2.0, and 5.1 vs 2.4 in the 2x2-pool column order of conv_pool_forward_fast; col2im 5.5
vs 2.4. 32x18x18 padded, 3x3 filters: im2col 1.8 vs 1.5, col2im 3.9 vs 1.1. In the 2x2-pool
order the compiled col2im writes each image row's even and odd elements in one pass (CPU time
on the loaded machine, load average 9: 3.2 ms instead of 6.6 ms for the 3x38x38 case).

Max pooling on its own takes the maximum over the pool_height*pool_width shifted strided views
of x (one vectorised np.maximum per offset), which is faster here than a reshape-max over a
(N, C, H', ph, W', pw) view (0.5 ms vs 2-30 ms on a 50x32x32x32 float32 batch, depending on
memory order) and also handles overlapping pools. The backward pass sends each window's
gradient to its first maximum in row-major order, as the naive layer does; it multiplies by 0/1
masks rather than using masked ufuncs (where=), which are several times slower on these
strided views. Conv followed by a tiling pool is faster still: see conv_pool_forward_fast.
"""

import numpy as np

from .im2col import column_grid, conv_output_size

try:
    from .im2col_cython import col2im_cython as col2im
    from .im2col_cython import im2col_cython as im2col
    from .im2col_cython import pool_bias_relu_forward, pool_blocks_backward, pool_relu_backward

    IM2COL_BACKEND = "cython"
except ImportError:
    from .im2col import col2im, im2col

    pool_blocks_backward = pool_bias_relu_forward = pool_relu_backward = None
    IM2COL_BACKEND = "numpy"


def _conv_columns(x, w, conv_param, dtype, block=(1, 1)):
    """The conv output without bias as an (F, columns) matrix in im2col's column order, and its
    cache."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    x_padded = np.zeros((C, N, H + 2 * pad, W + 2 * pad), dtype=dtype)
    x_padded[:, :, pad:pad + H, pad:pad + W] = x.transpose(1, 0, 2, 3)
    cols = im2col(x_padded, HH, WW, stride, block)
    w_mat = w.reshape(F, -1).astype(dtype, copy=False)
    out = w_mat @ cols
    cache = (x.shape, x_padded.shape, w_mat, w.shape, cols, conv_param, block)
    return out, cache


def _conv_columns_backward(dout_mat, cache, need_dx, db=None):
    """(dx, dw, db) from the gradient of _conv_columns's (F, columns) output (db: when known)."""
    x_shape, padded_shape, w_mat, w_shape, cols, conv_param, block = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    db = dout_mat.sum(axis=1) if db is None else db
    dw = np.ascontiguousarray((cols @ dout_mat.T).T).reshape(w_shape)  # 1.6x faster than dout_mat @ cols.T
    dx = None
    if need_dx:
        dcols = w_mat.T @ dout_mat
        dx_padded = col2im(dcols, padded_shape, w_shape[2], w_shape[3], stride, block)
        _, _, H, W = x_shape
        dx = dx_padded[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)
    return dx, dw, db


def conv_forward_fast(x, w, b, conv_param):
    """Fast conv forward pass; same inputs and outputs as conv_forward_naive (the cache differs)."""
    dtype = np.result_type(x, w, b)
    out, cache = _conv_columns(x, w, conv_param, dtype)
    out += b.astype(dtype, copy=False)[:, None]
    H_out, W_out = column_grid(cache[1], w.shape[2], w.shape[3], conv_param["stride"])
    out = out.reshape(w.shape[0], x.shape[0], H_out, W_out).transpose(1, 0, 2, 3)
    return out, cache


def conv_backward_fast(dout, cache, need_dx=True):
    """Fast conv backward pass: (dx, dw, db) as conv_backward_naive.

    need_dx=False skips the input gradient (dx is None): a network's first layer never uses it,
    and it is a third of the layer's cost.
    """
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(dout.shape[1], -1)
    return _conv_columns_backward(dout_mat, cache, need_dx)


def conv_pool_forward_fast(x, w, b, conv_param, pool_param):
    """Conv followed by max pooling: the output of max_pool_forward_fast(conv_forward_fast(...)).

    When the pool windows tile the conv output (stride equal to the pool size, as in the usual
    2x2 pool of stride 2), im2col orders its columns by window offset, so the pool is an
    elementwise maximum of contiguous blocks of the conv output, forwards and backwards
    (3-4x faster than pooling the (N, F, H, W) output; conv outputs no window covers are not
    computed, and the bias is added after the pool, to a quarter of the values). The output is
    C-contiguous. Other pools run the two layers one after the other.
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    if stride != ph or stride != pw:
        conv_out, conv_cache = conv_forward_fast(x, w, b, conv_param)
        out, pool_cache = max_pool_forward_fast(conv_out, pool_param)
        return out, ("separate", conv_cache, pool_cache)
    dtype = np.result_type(x, w, b)
    conv_out, conv_cache = _conv_columns(x, w, conv_param, dtype, block=(ph, pw))
    F, N = w.shape[0], x.shape[0]
    blocks = conv_out.reshape(F, ph * pw, -1)  # (F, window offset, N*P*Q)
    pooled = blocks[:, 0].copy()
    for k in range(1, ph * pw):
        np.maximum(pooled, blocks[:, k], out=pooled)
    P, Q = column_grid(conv_cache[1], w.shape[2], w.shape[3], conv_param["stride"], (ph, pw))
    out = np.empty((N, F, P, Q), dtype=dtype)
    np.add(pooled.reshape(F, N, P, Q).transpose(1, 0, 2, 3),
           b.astype(dtype, copy=False)[:, None, None], out=out)
    return out, ("fused", conv_cache, (blocks, pooled))


def conv_pool_backward_fast(dout, cache, need_dx=True):
    """Backward pass of conv_pool_forward_fast: (dx, dw, db); need_dx as in conv_backward_fast."""
    kind, conv_cache, pool_cache = cache
    if kind == "separate":
        return conv_backward_fast(max_pool_backward_fast(dout, pool_cache), conv_cache, need_dx)
    blocks, pooled = pool_cache
    dpooled = np.ascontiguousarray(dout.transpose(1, 0, 2, 3)).reshape(pooled.shape)
    dblocks = _pool_blocks_backward(blocks, pooled, dpooled)
    return _conv_columns_backward(dblocks.reshape(blocks.shape[0], -1), conv_cache, need_dx)


def conv_relu_pool_forward_fast(x, w, b, conv_param, pool_param):
    """Conv, ReLU and a tiling max pool: relu(max_pool(conv(x))), the output of conv_relu_pool_forward.

    With the compiled kernels and a pool whose windows tile the conv output, the pool, the bias
    and the ReLU are one pass over the conv's window blocks (pool_bias_relu_forward), which also
    records per output the offset its gradient goes back to (one byte). The ReLU is applied
    after the pool: the two commute (both are monotone). Else None: the caller runs the layers
    one after the other.
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dtype = np.result_type(x, w, b)
    if pool_bias_relu_forward is None or stride != ph or stride != pw or dtype not in (np.float32, np.float64):
        return None
    conv_out, conv_cache = _conv_columns(x, w, conv_param, dtype, block=(ph, pw))
    F, N = w.shape[0], x.shape[0]
    P, Q = column_grid(conv_cache[1], w.shape[2], w.shape[3], conv_param["stride"], (ph, pw))
    out, switch = pool_bias_relu_forward(conv_out.reshape(F, ph * pw, -1), b.astype(dtype, copy=False), N)
    return out.reshape(N, F, P, Q), (conv_cache, switch, ph * pw)


def conv_relu_pool_backward_fast(dout, cache, need_dx=True):
    """Backward pass of conv_relu_pool_forward_fast: (dx, dw, db); need_dx as in conv_backward_fast."""
    conv_cache, switch, offsets = cache
    N, F = dout.shape[:2]
    dout = np.ascontiguousarray(dout, dtype=conv_cache[2].dtype).reshape(N, F, -1)
    dblocks, db = pool_relu_backward(dout, switch, offsets)
    return _conv_columns_backward(dblocks.reshape(F, -1), conv_cache, need_dx, db)


def _pool_blocks_backward(blocks, pooled, dpooled):
    """dblocks (F, window offset, M): dpooled at each window's first maximum, 0 elsewhere. The
    compiled kernel when the three arrays share a float dtype (1.6 ms -> 0.9 ms per batch of
    50, CPU), else numpy."""
    same_float = blocks.dtype in (np.float32, np.float64) and blocks.dtype == pooled.dtype == dpooled.dtype
    if pool_blocks_backward is not None and same_float:
        return pool_blocks_backward(blocks, pooled, dpooled)
    dblocks = np.empty_like(blocks, dtype=np.result_type(blocks, dpooled))
    taken = np.zeros(pooled.shape, dtype=bool)
    last = blocks.shape[1] - 1
    for k in range(last + 1):  # offsets in row-major window order: ties go to the first maximum
        first_max = blocks[:, k] == pooled
        if k > 0:
            first_max = first_max > taken
        if k < last:
            taken |= first_max
        np.multiply(dpooled, first_max, out=dblocks[:, k])
    return dblocks


def _pool_windows(x, pool_param, out_shape):
    """Yields one strided view of x per pool offset: view[n, c, h, w] = x[n, c, h*s + i, w*s + j]."""
    stride = pool_param["stride"]
    _, _, H_out, W_out = out_shape
    for i in range(pool_param["pool_height"]):
        for j in range(pool_param["pool_width"]):
            yield x[:, :, i:i + stride * (H_out - 1) + 1:stride, j:j + stride * (W_out - 1) + 1:stride]


def max_pool_forward_fast(x, pool_param):
    """Fast max-pool forward pass; same inputs and outputs as max_pool_forward_naive."""
    N, C, H, W = x.shape
    stride = pool_param["stride"]
    out_shape = (N, C, conv_output_size(H, pool_param["pool_height"], stride),
                 conv_output_size(W, pool_param["pool_width"], stride))
    windows = _pool_windows(x, pool_param, out_shape)
    out = next(windows).copy(order="K")
    for window in windows:
        np.maximum(out, window, out=out)
    cache = (x, out, pool_param)
    return out, cache


def max_pool_backward_fast(dout, cache):
    """Fast max-pool backward pass; same result as max_pool_backward_naive."""
    x, out, pool_param = cache
    overlapping = pool_param["stride"] < max(pool_param["pool_height"], pool_param["pool_width"])
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    taken = np.zeros_like(out, dtype=bool)
    if dout.strides != out.strides:  # mixed memory orders make every op below much slower
        dout_aligned = np.empty_like(out, dtype=dout.dtype)
        dout_aligned[...] = dout
        dout = dout_aligned
    for window, dx_window in zip(_pool_windows(x, pool_param, out.shape),
                                 _pool_windows(dx, pool_param, out.shape), strict=True):
        first_max = (window == out) > taken  # a maximum not already claimed by an earlier offset
        taken |= first_max
        if overlapping:
            dx_window += dout * first_max
        else:  # each element of dx is in one window at most: write, don't add
            np.multiply(dout, first_max, out=dx_window)
    return dx
