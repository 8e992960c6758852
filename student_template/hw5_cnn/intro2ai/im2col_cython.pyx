# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled im2col/col2im for the fast conv layer; same contract as im2col.py (built by setup.py)."""

from libc.string cimport memcpy

import numpy as np

ctypedef fused real:
    float
    double


def im2col_cython(real[:, :, :, ::1] x_padded, int field_height, int field_width, int stride):
    """Receptive fields of a padded (C, N, Hp, Wp) array as a (C*HH*WW, N*H_out*W_out) matrix."""
    cdef Py_ssize_t C = x_padded.shape[0], N = x_padded.shape[1]
    cdef Py_ssize_t H_out = 1 + (x_padded.shape[2] - field_height) // stride
    cdef Py_ssize_t W_out = 1 + (x_padded.shape[3] - field_width) // stride
    cdef Py_ssize_t c, i, j, n, h, w, row, col
    cols_array = np.empty((C * field_height * field_width, N * H_out * W_out),
                          dtype=np.float32 if real is float else np.float64)
    cdef real[:, ::1] cols = cols_array
    with nogil:
        for c in range(C):
            for i in range(field_height):
                for j in range(field_width):
                    row = (c * field_height + i) * field_width + j
                    col = 0
                    for n in range(N):
                        for h in range(H_out):
                            if stride == 1:
                                memcpy(&cols[row, col], &x_padded[c, n, h + i, j],
                                       W_out * sizeof(real))
                                col += W_out
                            else:
                                for w in range(W_out):
                                    cols[row, col] = x_padded[c, n, h * stride + i, w * stride + j]
                                    col += 1
    return cols_array


def col2im_cython(real[:, ::1] cols, tuple padded_shape, int field_height, int field_width,
                  int stride):
    """Adjoint of im2col_cython: sums each column entry back into a zero (C, N, Hp, Wp) array."""
    cdef Py_ssize_t C = padded_shape[0], N = padded_shape[1]
    cdef Py_ssize_t H_out = 1 + (padded_shape[2] - field_height) // stride
    cdef Py_ssize_t W_out = 1 + (padded_shape[3] - field_width) // stride
    cdef Py_ssize_t c, i, j, n, h, w, row, col
    cdef real *dst
    cdef real *src
    x_array = np.zeros(padded_shape, dtype=np.float32 if real is float else np.float64)
    cdef real[:, :, :, ::1] x_padded = x_array
    with nogil:
        for c in range(C):
            for i in range(field_height):
                for j in range(field_width):
                    row = (c * field_height + i) * field_width + j
                    col = 0
                    for n in range(N):
                        for h in range(H_out):
                            dst = &x_padded[c, n, h * stride + i, j]
                            src = &cols[row, col]
                            if stride == 1:
                                for w in range(W_out):
                                    dst[w] += src[w]
                            else:
                                for w in range(W_out):
                                    dst[w * stride] += src[w]
                            col += W_out
    return x_array
