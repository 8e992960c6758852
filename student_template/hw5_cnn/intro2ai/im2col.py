"""Pure-numpy im2col/col2im for the fast conv layer: the fallback for (and twin of) im2col_cython.

Images are laid out channel-major, (C, N, H, W), so that every copy and every add below runs
along a whole image row, and so that one matrix product with the (F, C*HH*WW) filter matrix
gives the conv output as (F, N*H_out*W_out) without a transpose.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided


def conv_output_size(size: int, field: int, stride: int) -> int:
    """Number of receptive fields that fit along one (already padded) axis."""
    return 1 + (size - field) // stride


def im2col(x_padded: np.ndarray, field_height: int, field_width: int, stride: int) -> np.ndarray:
    """Receptive fields of a padded (C, N, Hp, Wp) array as a (C*HH*WW, N*H_out*W_out) matrix.

    Row (c, i, j) holds x_padded[c, n, h*stride + i, w*stride + j] for every output
    position (n, h, w); this is one strided view and one copy.
    """
    C, N, Hp, Wp = x_padded.shape
    H_out = conv_output_size(Hp, field_height, stride)
    W_out = conv_output_size(Wp, field_width, stride)
    sC, sN, sH, sW = x_padded.strides
    fields = as_strided(
        x_padded,
        shape=(C, field_height, field_width, N, H_out, W_out),
        strides=(sC, sH, sW, sN, stride * sH, stride * sW),
        writeable=False,
    )
    return fields.reshape(C * field_height * field_width, N * H_out * W_out)


def col2im(cols: np.ndarray, padded_shape: tuple, field_height: int, field_width: int,
           stride: int) -> np.ndarray:
    """Adjoint of im2col: sums each column entry back into a zero (C, N, Hp, Wp) array.

    One vectorised add per kernel offset (HH*WW of them), each over every image at once.
    """
    C, N, Hp, Wp = padded_shape
    H_out = conv_output_size(Hp, field_height, stride)
    W_out = conv_output_size(Wp, field_width, stride)
    x_padded = np.zeros(padded_shape, dtype=cols.dtype)
    fields = cols.reshape(C, field_height, field_width, N, H_out, W_out)
    for i in range(field_height):
        rows = slice(i, i + stride * (H_out - 1) + 1, stride)
        for j in range(field_width):
            x_padded[:, :, rows, j:j + stride * (W_out - 1) + 1:stride] += fields[:, i, j]
    return x_padded
