"""Numerical gradients by centred differences, to check analytic backward passes."""

import numpy as np


def eval_numerical_gradient(f, x, verbose=True, h=0.00001):
    """
    A naive implementation of numerical gradient of f at x
    - f should be a function that takes a single argument and returns a scalar
    - x is the point (numpy array) to evaluate the gradient at; it is perturbed in place and
      restored
    """
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)  # evaluate f(x + h)
        x[ix] = oldval - h
        fxmh = f(x)  # evaluate f(x - h)
        x[ix] = oldval  # restore

        grad[ix] = (fxph - fxmh) / (2 * h)  # the slope
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """
    Evaluate a numeric gradient for a function that accepts a numpy
    array and returns a numpy array: the gradient of sum(f(x) * df) with respect to x.
    """
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        oldval = x[ix]
        x[ix] = oldval + h
        pos = f(x).copy()
        x[ix] = oldval - h
        neg = f(x).copy()
        x[ix] = oldval

        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5):
    """
    Sample a few random elements and only return numerical gradients in these dimensions;
    prints the numerical and analytic values and their relative error for each.
    """
    errors = []
    for _ in range(num_checks):
        ix = tuple(np.random.randint(m) for m in x.shape)

        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval

        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        rel_error = abs(grad_numerical - grad_analytic) / (abs(grad_numerical) + abs(grad_analytic))
        errors.append(rel_error)
        print(f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, relative error: {rel_error:e}")
    return errors
