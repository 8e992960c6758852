"""Pure-numpy im2col/col2im for the fast conv layer: the fallback for (and twin of) im2col_cython.

Images are laid out channel-major, (C, N, H, W), so that every copy and every add below runs
along image rows, and so that one matrix product with the (F, C*HH*WW) filter matrix gives the
conv output as (F, columns) without a transpose.

Columns are conv output positions, ordered (a, b, n, p, q) for the position
(h, w) = (p*bh + a, q*bw + b) of image n, with a block (bh, bw). Block (1, 1) is the plain
(n, h, w) order. A block equal to a pool that tiles the output (2x2 pool, stride 2) puts each
window offset's outputs in one contiguous run, so the pool becomes an elementwise maximum of
bh*bw contiguous blocks; output rows and columns past the last whole block are left out (the
pool ignores them too).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided


def conv_output_size(size: int, field: int, stride: int) -> int:
    """Number of receptive fields that fit along one (already padded) axis."""
    return 1 + (size - field) // stride


def column_grid(padded_shape: tuple, field_height: int, field_width: int, stride: int,
                block: tuple = (1, 1)) -> tuple[int, int]:
    """(P, Q): whole blocks of conv outputs down and across, for the (a, b, n, p, q) column order."""
    _, _, Hp, Wp = padded_shape
    return (conv_output_size(Hp, field_height, stride) // block[0],
            conv_output_size(Wp, field_width, stride) // block[1])


def _fields(x_padded: np.ndarray, field_height: int, field_width: int, stride: int,
            block: tuple) -> np.ndarray:
    """Strided view (C, HH, WW, bh, bw, N, P, Q) of x_padded: [c, i, j, a, b, n, p, q] =
    x_padded[c, n, (p*bh + a)*stride + i, (q*bw + b)*stride + j]."""
    C, N, _, _ = x_padded.shape
    bh, bw = block
    P, Q = column_grid(x_padded.shape, field_height, field_width, stride, block)
    sC, sN, sH, sW = x_padded.strides
    return as_strided(
        x_padded,
        shape=(C, field_height, field_width, bh, bw, N, P, Q),
        strides=(sC, sH, sW, stride * sH, stride * sW, sN, bh * stride * sH, bw * stride * sW),
        writeable=False,
    )


def im2col(x_padded: np.ndarray, field_height: int, field_width: int, stride: int,
           block: tuple = (1, 1)) -> np.ndarray:
    """Receptive fields of a padded (C, N, Hp, Wp) array as a (C*HH*WW, columns) matrix:
    one strided view and one copy."""
    fields = _fields(x_padded, field_height, field_width, stride, block)
    return fields.reshape(x_padded.shape[0] * field_height * field_width, -1)


def col2im(cols: np.ndarray, padded_shape: tuple, field_height: int, field_width: int,
           stride: int, block: tuple = (1, 1)) -> np.ndarray:
    """Adjoint of im2col: sums each column entry back into a zero (C, N, Hp, Wp) array.

    One vectorised add per kernel offset (HH*WW of them), each over every image at once.
    """
    C, N, _, _ = padded_shape
    bh, bw = block
    P, Q = column_grid(padded_shape, field_height, field_width, stride, block)
    x_padded = np.zeros(padded_shape, dtype=cols.dtype)
    fields = cols.reshape(C, field_height, field_width, bh, bw, N, P, Q)
    for i in range(field_height):
        rows = slice(i, i + stride * (P * bh - 1) + 1, stride)
        for j in range(field_width):
            region = x_padded[:, :, rows, j:j + stride * (Q * bw - 1) + 1:stride]
            target = region.reshape(C, N, P, bh, Q, bw).transpose(0, 3, 5, 1, 2, 4)  # a view
            target += fields[:, i, j]
    return x_padded
