"""HW6 sandbox driver: one function per task, calling the student's `intro2ai` package.

Runs inside the sandbox, next to student code. It receives only a case's probe inputs and JSON
parameters and returns raw arrays; it holds no expected values and judges nothing.

Isolation of the questions: the network (Q3) and the residual block (Q4) call the student's
spatial batch normalization (Q2), which calls batchnorm_forward (Q1). So that a mistake there
costs no points in Q3/Q4, those tasks run twice: once as submitted ("real_" outputs) and once
with `StandInBatchnorm` in place of spatial_batchnorm_forward/backward ("stub_" outputs), a
known per-channel affine map that is not batch normalization; the parent computes both with the
reference and a case passes on either. Likewise spatial batch normalization (Q2) is also
compared with the student's own batchnorm_forward/backward on the (N*H*W, C) rows.
"""

from __future__ import annotations

import importlib
import sys
import time
from contextlib import contextmanager

import numpy as np

PACKAGE = "intro2ai"


# ------------------------------------------------------------------ the batchnorm stand-in


class StandInBatchnorm:
    """spatial_batchnorm_forward/backward's contract with a known, simple body.

    train: out = gamma[c] * x + beta[c], and running_mean := the per-channel mean of x;
    test:  out = gamma[c] * (x - running_mean[c]) + beta[c].
    Its backward is exact, so a network built on it has exact reference gradients; with gammas
    of both signs, BN after the ReLU or a missing BN changes the outputs.
    """

    @staticmethod
    def forward(x, gamma, beta, bn_param):
        g, b = gamma[None, :, None, None], beta[None, :, None, None]
        C = x.shape[1]
        running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
        if bn_param["mode"] == "train":
            bn_param["running_mean"] = x.mean(axis=(0, 2, 3))
            return g * x + b, (x, gamma)
        return g * (x - running_mean[None, :, None, None]) + b, (x, gamma)

    @staticmethod
    def backward(dout, cache):
        x, gamma = cache
        return dout * gamma[None, :, None, None], (dout * x).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))


@contextmanager
def stand_in_batchnorm(modules):
    """Replaces spatial_batchnorm_forward/backward wherever the given modules hold them."""
    names = {"spatial_batchnorm_forward": StandInBatchnorm.forward, "spatial_batchnorm_backward": StandInBatchnorm.backward}
    saved = [(m, n, getattr(m, n)) for m in modules for n in names if hasattr(m, n)]
    for module, name, _ in saved:
        setattr(module, name, names[name])
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def _student_modules():
    return [m for name, m in list(sys.modules.items()) if name == PACKAGE or name.startswith(PACKAGE + ".")]


def _both_ways(run, module: str) -> dict:
    """`run()` with the stand-in ("stub_" outputs, errors propagate) and as submitted ("real_";
    NaN where the student's batch normalization raised, so the case still judges the stub run).
    `module` is imported first, so that every module the stand-in must reach is loaded."""
    importlib.import_module(module)
    with stand_in_batchnorm(_student_modules()):
        stub = run()
    try:
        real = run()
    except Exception:  # noqa: BLE001 (a failing batchnorm is Q1/Q2's to judge)
        real = {k: np.full(np.shape(v), np.nan) for k, v in stub.items()}
    outputs = {"stub_" + k: v for k, v in stub.items()}
    outputs.update({"real_" + k: v for k, v in real.items()})
    return outputs


# ------------------------------------------------------------------ Q1 batchnorm


def _bn_param(params, mode="train"):
    return {"mode": mode, "eps": params["eps"], "momentum": params["momentum"]}


def _gradients(values, names):
    if not isinstance(values, tuple) or len(values) != len(names):
        raise TypeError(f"expected a tuple {names}, got {type(values).__name__}")
    return {name: np.asarray(value) for name, value in zip(names, values, strict=True)}


def bn_forward(inputs, params):
    """cs231n: train-mode forward of each batch in turn, then test mode on the test batch."""
    from intro2ai.layers import batchnorm_forward

    bn_param = _bn_param(params)
    for x in inputs["batches"]:
        out, _ = batchnorm_forward(x, inputs["gamma"], inputs["beta"], bn_param)
    bn_param["mode"] = "test"
    test_out, _ = batchnorm_forward(inputs["x_test"], inputs["gamma"], inputs["beta"], bn_param)
    return {"out": np.asarray(out), "running_mean": np.asarray(bn_param["running_mean"]),
            "running_var": np.asarray(bn_param["running_var"]), "test_out": np.asarray(test_out)}  # fmt: skip


def _bn_backward(inputs, params, name):
    from intro2ai import layers

    _, cache = layers.batchnorm_forward(inputs["x"], inputs["gamma"], inputs["beta"], _bn_param(params))
    return _gradients(getattr(layers, name)(inputs["dout"], cache), ("dx", "dgamma", "dbeta"))


def bn_backward(inputs, params):
    return _bn_backward(inputs, params, "batchnorm_backward")


def bn_backward_alt(inputs, params):
    return _bn_backward(inputs, params, "batchnorm_backward_alt")


def bn_speed(inputs, params):
    """The median over `repeats` back-to-back pairs of the ratio alt / staged CPU seconds on the same
    cache, on N x D random rows drawn here from the case's seed (16 MB the grader need not send).

    Each pair's two runs see the same machine (the load of a shared grader drifts between pairs,
    not within one), and the order alternates so that neither always runs on the other's warm
    caches; the median ignores the pairs a burst hit. The best of each taken separately, the old
    measure, let an alt that calls the staged backward come out 15 % faster on a loaded machine.
    """
    from intro2ai import layers

    draw = np.random.default_rng(params["seed"])
    N, D = params["N"], params["D"]
    x, dout = 12 + 5 * draw.standard_normal((N, D)), draw.standard_normal((N, D))
    _, cache = layers.batchnorm_forward(x, draw.standard_normal(D), draw.standard_normal(D), _bn_param(params))

    def cpu_seconds(name: str) -> float:
        start = time.process_time()
        getattr(layers, name)(dout, cache)
        return time.process_time() - start

    ratios = []
    for pair in range(params["repeats"]):
        order = ("batchnorm_backward", "batchnorm_backward_alt")
        seconds = {name: cpu_seconds(name) for name in (order if pair % 2 == 0 else order[::-1])}
        ratios.append(seconds["batchnorm_backward_alt"] / max(seconds["batchnorm_backward"], 1e-9))
    return {"ratio": np.asarray(float(np.median(ratios)))}


# ------------------------------------------------------------------ Q2 spatial batchnorm


def _rows(x):
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def _images(rows, shape):
    N, C, H, W = shape
    return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)


def _own_rows(run, names) -> dict:
    """The student's own vanilla batchnorm on the (N*H*W, C) rows, NaN where it raises."""
    try:
        return run()
    except Exception:  # noqa: BLE001 (Q1 judges the student's own batchnorm)
        return {name: np.nan for name in names}


def spatial_forward(inputs, params):
    from intro2ai import layers

    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    bn_param = _bn_param(params)
    out, _ = layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    running = {"running_mean": np.asarray(bn_param["running_mean"]), "running_var": np.asarray(bn_param["running_var"])}
    bn_param["mode"] = "test"
    test_out, _ = layers.spatial_batchnorm_forward(inputs["x_test"], gamma, beta, bn_param)

    def own():
        rows_param = _bn_param(params)
        rows, _ = layers.batchnorm_forward(_rows(x), gamma, beta, rows_param)
        stats = {"running_mean": np.asarray(rows_param["running_mean"]), "running_var": np.asarray(rows_param["running_var"])}
        rows_param["mode"] = "test"
        test_rows, _ = layers.batchnorm_forward(_rows(inputs["x_test"]), gamma, beta, rows_param)
        return {"out": _images(rows, x.shape), **stats, "test_out": _images(test_rows, inputs["x_test"].shape)}

    outputs = {"out": np.asarray(out), **running, "test_out": np.asarray(test_out)}
    mine = _own_rows(own, outputs)
    outputs.update({"own_" + k: np.broadcast_to(np.asarray(v, dtype=np.float64), outputs[k].shape).copy()
                    for k, v in mine.items()})  # fmt: skip
    return outputs


def spatial_backward(inputs, params):
    from intro2ai import layers

    x, dout = inputs["x"], inputs["dout"]
    _, cache = layers.spatial_batchnorm_forward(x, inputs["gamma"], inputs["beta"], _bn_param(params))
    outputs = _gradients(layers.spatial_batchnorm_backward(dout, cache), ("dx", "dgamma", "dbeta"))
    for variant in ("batchnorm_backward", "batchnorm_backward_alt"):
        def own(variant=variant):
            _, rows_cache = layers.batchnorm_forward(_rows(x), inputs["gamma"], inputs["beta"], _bn_param(params))
            dx, dgamma, dbeta = getattr(layers, variant)(_rows(dout), rows_cache)
            return {"dx": _images(dx, x.shape), "dgamma": dgamma, "dbeta": dbeta}

        mine = _own_rows(own, ("dx", "dgamma", "dbeta"))
        prefix = "own_" if variant == "batchnorm_backward" else "own_alt_"
        outputs.update({prefix + k: np.broadcast_to(np.asarray(v, dtype=np.float64), outputs[k].shape).copy()
                        for k, v in mine.items()})  # fmt: skip
    return outputs


# ------------------------------------------------------------------ Q3-Q4 the network and the block


def _model(kwargs):
    from intro2ai.classifiers.convnet import ConvNet

    kwargs = dict(kwargs)
    if "dtype" in kwargs:
        kwargs["dtype"] = np.dtype(kwargs["dtype"]).type
    if "input_dim" in kwargs:
        kwargs["input_dim"] = tuple(kwargs["input_dim"])
    return ConvNet(**kwargs)


def net_init(inputs, params):
    np.random.seed(params.get("seed", 0))
    model = _model(params["kwargs"])
    return {name: np.asarray(value) for name, value in model.params.items()}


def _loaded_model(inputs, params):
    model = _model(params["kwargs"])
    missing = sorted(set(k[2:] for k in inputs if k.startswith("p_")) - set(model.params))
    if missing:
        raise KeyError(f"self.params has no {', '.join(missing)}: see the parameter names in ConvNet's docstring")
    for key, value in inputs.items():
        if key.startswith("p_"):
            model.params[key[2:]] = value.copy()
    return model


def net_loss(inputs, params):
    """Loss and gradients with the grader's parameters, then (`test`) the test-mode scores of X_test."""

    def run():
        model = _loaded_model(inputs, params)
        loss, grads = model.loss(inputs["X"], inputs["y"])
        outputs = {"loss": np.asarray(loss, dtype=np.float64)}
        outputs.update({"grad_" + name: np.asarray(grad) for name, grad in grads.items()})
        if params.get("test"):
            outputs["scores"] = np.asarray(model.loss(inputs["X_test"]))
        return outputs

    return _both_ways(run, PACKAGE + ".classifiers.convnet")


def net_loss_at_init(inputs, params):
    """The loss of a freshly initialised network (small weights): about log(num_classes)."""
    np.random.seed(params["seed"])
    model = _model(params["kwargs"])
    loss, _ = model.loss(inputs["X"], inputs["y"])
    return {"loss": np.asarray(loss, dtype=np.float64)}


def res_block(inputs, params):
    """residual_block_forward then _backward with the grader's parameters, in train mode."""
    from intro2ai import layer_utils

    block = {key[2:]: value for key, value in inputs.items() if key.startswith("p_")}

    def run():
        bn_params = [_bn_param(params), _bn_param(params)]
        out, cache = layer_utils.residual_block_forward(inputs["x"], dict(block), bn_params, params["stride"])
        dx, grads = layer_utils.residual_block_backward(inputs["dout"], cache)
        if not isinstance(grads, dict):
            raise TypeError(f"residual_block_backward must return (dx, grads dict), got {type(grads).__name__}")
        return {"out": np.asarray(out), "dx": np.asarray(dx), **{"grad_" + k: np.asarray(v) for k, v in grads.items()}}

    return _both_ways(run, PACKAGE + ".layer_utils")


# ------------------------------------------------------------------ Q5 the experiment


def experiment(inputs, params):
    """The seed's comparison: the given train_run in each configuration on the same data."""
    from intro2ai.experiment import train_run

    X, y = inputs["X_train"], inputs["y_train"]
    stand_in = min(len(X), 200)  # held-out images never enter the sandbox
    data = {"X_train": X, "y_train": y, "X_val": X[:stand_in], "y_val": y[:stand_in]}
    outputs = {}
    for config in params["configs"]:
        solver = train_run(data, config, params["seed"], num_filters_list=params["num_filters_list"],
                           num_epochs=params["num_epochs"], batch_size=params["batch_size"],
                           learning_rate=params["learning_rate"], weight_scale=params["weight_scale"])  # fmt: skip
        model = solver.model
        outputs.update({f"{config}_{name}": np.asarray(value) for name, value in model.params.items()})
        for i, bn_param in enumerate(model.bn_params):
            outputs[f"{config}_bn{i}_running_mean"] = np.asarray(bn_param["running_mean"])
            outputs[f"{config}_bn{i}_running_var"] = np.asarray(bn_param["running_var"])
        outputs[f"{config}_loss_history"] = np.asarray(solver.loss_history, dtype=np.float64)
    return outputs
