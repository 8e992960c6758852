# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled Adam step for optim.py: one pass over memory instead of a dozen (built by setup.py)."""

from libc.math cimport sqrt, sqrtf

ctypedef fused real:
    float
    double


def adam_step(real[::1] w, const real[::1] dw, real[::1] m, real[::1] v, double beta1,
              double beta2, double lr_t, double eps_t):
    """In place, element by element: m += (1 - beta1) * (dw - m); v = beta2 * v + (1 - beta2) * dw**2;
    w -= lr_t * m / (sqrt(v) + eps_t). Arithmetic in the arrays' own precision.

    Each element is read once and written once, so the step moves the 7 weight-sized arrays'
    bytes through memory and nothing else (numpy's ufunc chain moves them a dozen times).
    """
    cdef Py_ssize_t i, n = w.shape[0]
    cdef real b1 = 1 - beta1, b2 = beta2, c2 = 1 - beta2, lr = lr_t, eps = eps_t
    cdef real g, mi, vi
    if dw.shape[0] != n or m.shape[0] != n or v.shape[0] != n:
        raise ValueError("adam_step needs four arrays of one size")
    with nogil:
        for i in range(n):
            g = dw[i]
            mi = m[i] + b1 * (g - m[i])
            vi = b2 * v[i] + c2 * g * g
            m[i] = mi
            v[i] = vi
            if real is float:
                w[i] -= lr * mi / (sqrtf(vi) + eps)
            else:
                w[i] -= lr * mi / (sqrt(vi) + eps)
