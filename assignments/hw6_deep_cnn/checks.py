"""HW6 parent-side checks: probe inputs, reference outputs and the judges of batch normalization,
the configurable network, the residual block and the deep-network experiment.

Trusted code, run only in the grader's process; it never enters the sandbox. Probes build a
case's inputs from its JSON parameters (hidden ones from the run's seed); `expect_*` run the
reference package (HW6's own, reference/hw6_deep_cnn); judges turn validated student outputs
into verdicts. The network and block cases are computed twice, as the driver runs them: with the
reference's batch normalization and with the driver's stand-in for it (driver.py says why).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from intro2ai import (  # HW6's reference package (the engine's own_package)
    data_utils,
    layer_utils,
    layers,
)
from intro2ai.classifiers import convnet

from autograder.assignment import import_file, own_package
from autograder.grading.judge import Verdict, accepts_nonfinite, judge_rel_error, judge_weight_std
from autograder.grading.training import TrainingData, accuracy, constructor_kwargs, finished_run

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parents[1] / "reference" / "hw6_deep_cnn"
PACKAGE = "intro2ai"


DRIVER = import_file("_hw6_driver", HERE / "driver.py")  # StandInBatchnorm, stand_in_batchnorm: defined once, used on both sides


def _state(params, rng) -> np.random.RandomState:
    return np.random.RandomState(params["seed"] if "seed" in params else rng.integers(2**31))


def _bn_param(params):
    return {"mode": "train", "eps": params["eps"], "momentum": params["momentum"]}


def scaled_error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max |want|: an array's error relative to its own scale, so that a
    gradient that is zero in exact arithmetic (a conv bias before batch normalization) compares
    its round-off with round-off instead of dividing it by itself. NaN/inf count as infinite."""
    got64, want64 = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got64.shape != want64.shape:
        return float("inf")
    if not np.all(np.isfinite(got64)):
        return float("inf")
    if want64.size == 0:
        return 0.0
    return float(np.max(np.abs(got64 - want64)) / max(float(np.max(np.abs(want64))), 1e-8))


# ------------------------------------------------------------------ Q1 batchnorm


def _rows(state, params, n):
    """Rows with per-feature means and scales far from 0 and 1, as cs231n's test data."""
    D = params["D"]
    shift, scale = state.uniform(-3, 3, D) * params.get("shift", 1.0), state.uniform(0.5, 2, D) * params.get("scale", 1.0)
    return shift + scale * state.randn(*n, D)


def bn_forward_inputs(params, rng, context):
    state = _state(params, rng)
    D = params["D"]
    return {"batches": _rows(state, params, (params["batches"], params["N"])), "gamma": state.uniform(0.5, 1.5, D),
            "beta": state.randn(D), "x_test": _rows(state, params, (params.get("N_test", params["N"]),))}  # fmt: skip


def expect_bn_forward(inputs, params, context):
    bn_param = _bn_param(params)
    for x in inputs["batches"]:
        out, _ = layers.batchnorm_forward(x, inputs["gamma"], inputs["beta"], bn_param)
    bn_param["mode"] = "test"
    test_out, _ = layers.batchnorm_forward(inputs["x_test"], inputs["gamma"], inputs["beta"], bn_param)
    return {"out": out, "running_mean": bn_param["running_mean"], "running_var": bn_param["running_var"],
            "test_out": test_out}  # fmt: skip


def bn_forward(outputs, expected, case, context):
    verdict = judge_rel_error(outputs, expected, case.threshold)
    if verdict.passed:
        return verdict
    hints = []
    if np.allclose(outputs["out"], _unbiased_output(case.params)):
        hints.append("the output matches an unbiased variance (x.var(ddof=1)); batch norm divides by N")
    momentum = case.params["momentum"]
    if case.params["batches"] == 1 and np.allclose(outputs["running_mean"], expected["running_mean"] * momentum / (1 - momentum)):
        hints.append("running_mean = momentum * running_mean + (1 - momentum) * sample_mean: the momentum weighs the old value")
    if rel_ok(outputs, expected, ("out", "running_mean", "running_var"), case.threshold) and not rel_ok(outputs, expected, ("test_out",), case.threshold):
        hints.append("test mode must normalize with running_mean and running_var, not the test batch's statistics")
    message = verdict.message + ("; " + "; ".join(hints) if hints else "")
    return Verdict(False, verdict.metric, verdict.value, verdict.threshold, message)


def _unbiased_output(params: dict) -> np.ndarray:
    """The last training batch's output with the variance divided by N - 1 (the probe is
    deterministic in the case's seed, so the inputs are rebuilt here)."""
    inputs = bn_forward_inputs(params, None, None)
    x = inputs["batches"][-1]
    xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + params["eps"])
    return inputs["gamma"] * xhat + inputs["beta"]


def rel_ok(outputs, expected, names, threshold) -> bool:
    return judge_rel_error({k: outputs[k] for k in names}, {k: expected[k] for k in names}, threshold).passed


def bn_backward_inputs(params, rng, context):
    state = _state(params, rng)
    D, N = params["D"], params["N"]
    return {"x": _rows(state, params, (N,)), "gamma": state.randn(D), "beta": state.randn(D), "dout": state.randn(N, D)}


def _expect_backward(inputs, params, name):
    _, cache = layers.batchnorm_forward(inputs["x"], inputs["gamma"], inputs["beta"], _bn_param(params))
    dx, dgamma, dbeta = getattr(layers, name)(inputs["dout"], cache)
    return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}


def expect_bn_backward(inputs, params, context):
    return _expect_backward(inputs, params, "batchnorm_backward")


def bn_backward(outputs, expected, case, context):
    verdict = judge_rel_error(outputs, expected, case.threshold)
    if verdict.passed or not rel_ok(outputs, expected, ("dgamma", "dbeta"), case.threshold):
        return verdict
    hint = "; dgamma and dbeta are right but dx is not: check that every 1/sqrt(var) in dx is 1/sqrt(var + eps)"
    return Verdict(False, verdict.metric, verdict.value, verdict.threshold, verdict.message + hint)


def expect_bn_speed(inputs, params, context):
    return {"ratio": np.asarray(0.5)}


def bn_speed(outputs, expected, case, context):
    """batchnorm_backward_alt must take at most `max_ratio` of batchnorm_backward's CPU time."""
    ratio, limit = float(outputs["ratio"]), case.params["max_ratio"]
    passed = ratio <= limit
    message = "" if passed else (f"batchnorm_backward_alt took {ratio:.2f}x the CPU time of batchnorm_backward (at most "
                                 f"{limit:.2f}x): compute dx in one expression from xhat, dgamma and dbeta, without "
                                 f"calling the staged backward")  # fmt: skip
    return Verdict(passed, "alt / staged CPU time", ratio, limit, message)


def bn_hidden(rng, count):
    """Odd batch sizes, N = 1 in test mode, other momenta and eps, a large eps in both backwards."""
    specs = [
        ("bn_forward", {"N": 7, "D": 4, "batches": 1, "momentum": 0.75, "eps": 1e-3}, "odd batch, momentum 0.75"),
        ("bn_forward", {"N": 9, "D": 3, "N_test": 1, "batches": 20, "momentum": 0.8, "eps": 1e-5}, "N = 1 in test mode"),
        ("bn_forward", {"N": 33, "D": 6, "batches": 3, "momentum": 0.95, "eps": 0.1}, "momentum 0.95, eps 0.1"),
        ("bn_backward", {"N": 5, "D": 7, "momentum": 0.9, "eps": 0.1, "scale": 0.3}, "backward, eps 0.1"),
        ("bn_backward_alt", {"N": 11, "D": 3, "momentum": 0.9, "eps": 0.05, "scale": 0.3}, "backward_alt, eps 0.05"),
    ]
    cases = []
    for k in range(count):
        task, params, label = specs[k % len(specs)]
        params = {**params, "seed": int(rng.integers(2**31))}
        kind = "bn_forward" if task == "bn_forward" else "bn_backward"
        cases.append({"name": f"hidden: {label}, N={params['N']}, D={params['D']}", "points": 1.0, "task": task,
                      "probe": kind + "_inputs", "expect": kind, "judge": kind, "threshold": 1e-8, "params": params})  # fmt: skip
    return cases


# ------------------------------------------------------------------ Q2 spatial batchnorm


def spatial_inputs(params, rng, context):
    state = _state(params, rng)
    N, C, H, W = params["shape"]
    shift, scale = state.uniform(-3, 3, C)[:, None, None], state.uniform(0.5, 3, C)[:, None, None]
    return {"x": shift + scale * state.randn(N, C, H, W), "gamma": state.uniform(0.5, 1.5, C), "beta": state.randn(C),
            "x_test": shift + scale * state.randn(params.get("N_test", N), C, H, W), "dout": state.randn(N, C, H, W)}  # fmt: skip


def expect_spatial_forward(inputs, params, context):
    bn_param = _bn_param(params)
    out, _ = layers.spatial_batchnorm_forward(inputs["x"], inputs["gamma"], inputs["beta"], bn_param)
    expected = {"out": out, "running_mean": bn_param["running_mean"], "running_var": bn_param["running_var"]}
    bn_param["mode"] = "test"
    expected["test_out"], _ = layers.spatial_batchnorm_forward(inputs["x_test"], inputs["gamma"], inputs["beta"], bn_param)
    return {**expected, **{"own_" + k: v for k, v in expected.items()}}


def expect_spatial_backward(inputs, params, context):
    _, cache = layers.spatial_batchnorm_forward(inputs["x"], inputs["gamma"], inputs["beta"], _bn_param(params))
    dx, dgamma, dbeta = layers.spatial_batchnorm_backward(inputs["dout"], cache)
    expected = {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}
    return {**expected, **{p + k: v for k, v in expected.items() for p in ("own_", "own_alt_")}}


@accepts_nonfinite
def spatial(outputs, expected, case, context):
    """Right if equal to the reference, or to the student's own vanilla batchnorm on the
    (N*H*W, C) rows (a Q1 mistake then costs only Q1): either way the axes are right."""
    names = [k for k in expected if not k.startswith("own_")]
    theirs = {k: outputs[k] for k in names}
    if not all(np.all(np.isfinite(v)) for v in theirs.values()):
        return Verdict(False, "rel_error", None, case.threshold, "the output holds NaN or inf")
    verdict = judge_rel_error(theirs, {k: expected[k] for k in names}, case.threshold)
    if verdict.passed:
        return verdict
    for prefix in ("own_", "own_alt_"):
        own = {k: outputs[prefix + k] for k in names if prefix + k in outputs}
        if len(own) == len(names) and all(np.all(np.isfinite(v)) for v in own.values()):
            if judge_rel_error(theirs, own, case.threshold).passed:
                return Verdict(True, "rel_error (to your own batchnorm on the (N*H*W, C) rows)", 0.0, case.threshold,
                               "equal to your own vanilla batch normalization on the right axes (Q1 judges that one)")  # fmt: skip
    hint = ("; spatial batch normalization normalizes each channel over N, H and W: move C last "
            "(x.transpose(0, 2, 3, 1).reshape(-1, C)), normalize, and transpose back")
    return Verdict(False, verdict.metric, verdict.value, verdict.threshold, verdict.message + hint)


def spatial_hidden(rng, count):
    shapes = [(3, 4, 3, 5), (5, 2, 6, 4), (1, 6, 5, 7), (4, 3, 7, 2)]
    cases = []
    for k in range(count):
        shape = shapes[k % len(shapes)]
        params = {"shape": list(shape), "momentum": [0.8, 0.95, 0.9][k % 3], "eps": [1e-3, 1e-5, 0.1][k % 3],
                  "N_test": [1, 2, 3][k % 3], "seed": int(rng.integers(2**31))}  # fmt: skip
        task = ("spatial_forward", "spatial_backward")[k % 2]
        cases.append({"name": f"hidden: {task.split('_')[1]}, x {tuple(shape)}, momentum {params['momentum']}, eps {params['eps']}",
                      "points": 2.0, "task": task, "probe": "spatial_inputs", "expect": task, "judge": "spatial",
                      "threshold": 1e-8, "params": params})  # fmt: skip
    return cases


# ------------------------------------------------------------------ Q3-Q4 network and residual block


def _reference_model(kwargs: dict, seed: int | None = None) -> convnet.ConvNet:
    if seed is not None:
        np.random.seed(seed % 2**32)
    return convnet.ConvNet(**constructor_kwargs(kwargs))


def no_inputs(params, rng, context):
    """For tasks that draw their own data from the case's seed (a timing) or take none (an init)."""
    return {}


def expect_net_init(inputs, params, context):
    return dict(_reference_model(params["kwargs"], params.get("seed", 0)).params)


def _conv_counts(params: dict) -> list[str]:
    """Parameters per conv layer (weights + biases), as the seed's model.summary() lists them."""
    return [f"conv {name[1:]}: {params[name].size + params['b' + name[1:]].size}"
            for name in params if name.startswith("W") and params[name].ndim == 4]  # fmt: skip


def net_init(outputs, expected, case, context):
    """Names, shapes and dtypes as the reference's; biases and betas 0, gammas 1; weight std = weight_scale."""
    scale = case.params["kwargs"].get("weight_scale", 1e-2)
    extras = {"conv_parameter_counts": _conv_counts(expected)}
    extra = sorted(set(outputs) - set(expected))
    if extra:
        return Verdict(False, "init", None, None, f"unexpected parameters {', '.join(extra)}: see ConvNet's docstring", extras)
    for name, ref in expected.items():
        got = outputs[name]
        if got.dtype != ref.dtype:
            return Verdict(False, "init", None, None, f"{name}: dtype {got.dtype}, expected {ref.dtype}", extras)
        kind = name.split("_")[-1]
        if kind.startswith(("b", "gamma")) and not np.all(got == ref):
            what = "ones" if kind.startswith("gamma") else "zeros"
            return Verdict(False, "init", None, None, f"{name}: must start as {what}", extras)
    return judge_weight_std({n: outputs[n] for n in expected if n.split("_")[-1].startswith("W")}, scale, extras)


def net_loss_inputs(params, rng, context):
    """Random X, y and the grader's own parameters (gammas and betas of both signs) for the model."""
    kwargs = params["kwargs"]
    state = _state(params, rng)
    input_dim = tuple(kwargs.get("input_dim", (3, 32, 32)))
    X = state.randn(params["n"], *input_dim)
    y = state.randint(kwargs.get("num_classes", 10), size=params["n"])
    model = _reference_model(kwargs, seed=int(state.randint(2**31)))
    inputs = {"X": X, "y": y}
    for name, value in model.params.items():
        kind = name.split("_")[-1]
        if kind.startswith(("gamma", "beta")) or (kind.startswith("b") and params.get("random_biases")):
            value = state.randn(*value.shape).astype(value.dtype)
        inputs["p_" + name] = value
    if params.get("test"):
        inputs["X_test"] = params.get("test_shift", 1.0) + state.randn(params.get("n_test", params["n"]), *input_dim)
    return inputs


def _both_ways(compute, modules) -> dict:
    """The reference's outputs as submitted ("real_") and with the driver's stand-in ("stub_")."""
    expected = {"real_" + k: v for k, v in compute().items()}
    with DRIVER.stand_in_batchnorm(modules):
        expected.update({"stub_" + k: v for k, v in compute().items()})
    return expected


def expect_net_loss(inputs, params, context):
    def compute():
        model = _reference_model(params["kwargs"])
        model.params.update({k[2:]: v.copy() for k, v in inputs.items() if k.startswith("p_")})
        loss, grads = model.loss(inputs["X"], inputs["y"])
        out = {"loss": np.asarray(loss, dtype=np.float64), **{"grad_" + k: v for k, v in grads.items()}}
        if params.get("test"):
            out["scores"] = model.loss(inputs["X_test"])
        return out

    return _both_ways(compute, [layers, layer_utils, convnet])


@accepts_nonfinite
def either_way(outputs, expected, case, context):
    """Passes when every output equals the reference's (scaled error) on the stand-in run or on the
    run with the student's own batch normalization."""
    errors = {}
    for prefix in ("stub_", "real_"):
        names = [k for k in expected if k.startswith(prefix)]
        per_name = {k[len(prefix):]: scaled_error(outputs[k], expected[k]) for k in names}
        worst = max(per_name, key=per_name.get)
        errors[prefix] = (worst, per_name[worst])
    best = min(errors.values(), key=lambda e: e[1])[1]
    passed = best <= case.threshold
    if passed:
        return Verdict(True, "scaled error", best, case.threshold)
    (stub_name, stub_error), (_, real_error) = errors["stub_"], errors["real_"]
    mode = " (test mode: scores = loss(X) must use the running statistics)" if stub_name == "scores" else ""
    message = (f"{stub_name}{mode} differs from the reference by {stub_error:.2e} of its scale, with the grader's stand-in "
               f"for spatial_batchnorm_forward/backward (and by {real_error:.2e} with your own batch normalization): check "
               f"the order conv -> spatial batchnorm -> ReLU, the parameter names and the backward pass")  # fmt: skip
    return Verdict(False, "scaled error", best, case.threshold, message)


def expect_loss_at_init(inputs, params, context):
    return {"loss": np.asarray(np.log(params["kwargs"].get("num_classes", 10)), dtype=np.float64)}


def loss_at_init(outputs, expected, case, context):
    loss, want = float(outputs["loss"]), float(expected["loss"])
    passed = abs(loss - want) <= case.threshold
    message = "" if passed else (f"the loss of a fresh network with small weights is {loss:.4f}, expected about "
                                 f"log(num_classes) = {want:.4f}")  # fmt: skip
    return Verdict(passed, "|loss - log(C)|", abs(loss - want), case.threshold, message)


def net_hidden(rng, count):
    """Non-square inputs, other channel counts, odd batch sizes; with and without batch norm."""
    cases = []
    for k in range(count):
        h, w = [(6, 10), (10, 6), (8, 14)][k % 3]
        filters = [int(rng.integers(2, 6)), "max_pool", int(rng.integers(2, 6))]
        kwargs = {"num_filters_list": filters, "input_dim": [int(rng.integers(1, 4)), h, w],
                  "num_classes": int(rng.integers(3, 8)), "use_batch_norm": k % 2 == 0, "weight_scale": 0.3,
                  "reg": float(np.round(rng.uniform(0.05, 0.5), 3)), "dtype": "float64"}  # fmt: skip
        params = {"kwargs": kwargs, "n": int(rng.choice([3, 5, 7])), "test": True, "seed": int(rng.integers(2**31))}
        cases.append({"name": f"hidden: {filters}, input {kwargs['input_dim']}, BN {kwargs['use_batch_norm']}",
                      "points": 3.0, "task": "net_loss", "probe": "net_loss_inputs", "expect": "net_loss",
                      "judge": "either_way", "threshold": 1e-6, "params": params})  # fmt: skip
    return cases


def res_block_inputs(params, rng, context):
    state = _state(params, rng)
    N, C, H, W = params["shape"]
    F, stride = params["F"], params["stride"]
    x = state.randn(N, C, H, W)
    block = {"W1": state.randn(F, C, 3, 3) / 3, "b1": state.randn(F), "gamma1": state.randn(F), "beta1": state.randn(F),
             "W2": state.randn(F, F, 3, 3) / 3, "b2": state.randn(F), "gamma2": state.randn(F), "beta2": state.randn(F)}  # fmt: skip
    if F != C or stride > 1:
        block.update({"Wp": state.randn(F, C, 1, 1), "bp": state.randn(F)})
    out_hw = ((H - 1) // stride + 1, (W - 1) // stride + 1)
    return {"x": x, "dout": state.randn(N, F, *out_hw), **{"p_" + k: v for k, v in block.items()}}


def expect_res_block(inputs, params, context):
    block = {k[2:]: v for k, v in inputs.items() if k.startswith("p_")}

    def compute():
        bn_params = [_bn_param(params), _bn_param(params)]
        out, cache = layer_utils.residual_block_forward(inputs["x"], dict(block), bn_params, params["stride"])
        dx, grads = layer_utils.residual_block_backward(inputs["dout"], cache)
        return {"out": out, "dx": dx, **{"grad_" + k: v for k, v in grads.items()}}

    return _both_ways(compute, [layers, layer_utils])


def res_hidden(rng, count):
    specs = [((3, 2, 7, 5), 4, 2), ((2, 3, 5, 9), 3, 1), ((5, 4, 6, 6), 4, 2)]
    cases = []
    for k in range(count):
        shape, F, stride = specs[k % len(specs)]
        params = {"shape": list(shape), "F": F, "stride": stride, "momentum": 0.9, "eps": 1e-5,
                  "seed": int(rng.integers(2**31))}  # fmt: skip
        cases.append({"name": f"hidden: block {shape[1]}->{F} channels, stride {stride}, x {shape}", "points": 3.0,
                      "task": "res_block", "probe": "res_block_inputs", "expect": "res_block", "judge": "either_way",
                      "threshold": 1e-6, "params": params})  # fmt: skip
    return cases


# ------------------------------------------------------------------ Q5 the experiment


DATA = TrainingData(lambda source, n: data_utils.get_CIFAR10_data(num_training=n, source=source),
                    data_utils.describe_source)
describe_data = DATA.describe_data
experiment_inputs = DATA.train_inputs


def _experiment_model(params: dict, config: str) -> convnet.ConvNet:
    from_list = params["num_filters_list"] or None
    with own_package(PACKAGE, path=REFERENCE):
        from intro2ai.experiment import CONFIGS
    options, default_list = CONFIGS[config]
    return _reference_model({"num_filters_list": from_list or default_list, "weight_scale": params["weight_scale"],
                             **options})  # fmt: skip


def expect_experiment(inputs, params, context):
    """Shapes of each run's trained parameters and running statistics, one loss per iteration."""
    iterations = params["num_epochs"] * max(1, params["num_train"] // params["batch_size"])
    expected = {}
    for config in params["configs"]:
        model = _experiment_model(params, config)
        expected.update({f"{config}_{name}": value for name, value in model.params.items()})
        for i in range(len(model.bn_params)):
            channels = _bn_channels(model, i)
            expected[f"{config}_bn{i}_running_mean"] = np.zeros(channels, dtype=np.float32)
            expected[f"{config}_bn{i}_running_var"] = np.zeros(channels, dtype=np.float32)
        expected[f"{config}_loss_history"] = np.zeros(iterations)
    return expected


def _bn_channels(model: convnet.ConvNet, index: int) -> int:
    """The channel count of the model's index-th batch normalization (the gammas in forward order)."""
    gammas = [v for k, v in model.params.items() if k.split("_")[-1].startswith("gamma")]
    return gammas[index].size


def _trained_model(trained: dict, params: dict, config: str) -> convnet.ConvNet:
    """The reference network holding the student's trained parameters and running statistics."""
    model = _experiment_model(params, config)
    model.params.update({k: np.asarray(trained[k], dtype=v.dtype) for k, v in model.params.items()})
    for i, bn_param in enumerate(model.bn_params):
        bn_param["running_mean"] = np.asarray(trained[f"bn{i}_running_mean"], dtype=np.float32)
        bn_param["running_var"] = np.asarray(trained[f"bn{i}_running_var"], dtype=np.float32)
    return model


def _train_loss(model: convnet.ConvNet, params: dict, X: np.ndarray, y: np.ndarray, samples: int = 1000) -> float:
    """The training loss the trained network reaches, measured here: the reference forward pass in
    train mode (batch statistics, as during training) on the first `samples` training images, in the
    case's batch size. The loss history the sandbox returns is only plotted, never believed.
    Train mode updates the model's running statistics: measure anything in test mode first."""
    size = params["batch_size"]
    losses = [model.loss(X[i : i + size], y[i : i + size])[0] for i in range(0, min(samples, len(X)), size)]
    return float(np.mean(losses))


@accepts_nonfinite
def experiment(outputs, expected, case, context):
    """Each run finishes with finite losses; the runs with a target learn: the training loss the
    parent measures with their trained parameters falls below the target (log 10 = 2.303 is where a
    network that "does not learn at all" stays, as the seed's plain deep network does). Held-out
    accuracy (test mode, running statistics) is reported, not judged: after 120 steps on 2,000
    images the running statistics of a correct batch-norm network can still predict one class
    (benchmarks/calibration-hw6_deep_cnn.md)."""
    params = case.params
    targets = params["targets"][describe_data(context)]
    data = DATA.get(context, params["num_train"])
    problems, extras = [], {}
    for config in params["configs"]:
        run = finished_run(outputs, config, "parameters or running statistics")
        if isinstance(run, str):
            problems.append(run)
            continue
        model = _trained_model(run.trained, params, config)
        val_accuracy = accuracy(model, data["X_val"], data["y_val"])  # test mode, before train mode moves the statistics
        train_loss = _train_loss(model, params, data["X_train"], data["y_train"])
        extras[f"{config}_train_loss"] = train_loss
        extras[f"{config}_val_accuracy"] = val_accuracy
        extras[f"{config}_loss_history"] = run.curve()
        if config in targets and not train_loss <= targets[config]:
            problems.append(f"{config}: the training loss after training is {train_loss:.3f}, above the target "
                            f"{targets[config]:.2f} (log 10 = 2.303: the network did not learn)")  # fmt: skip
    measured = [extras[f"{c}_train_loss"] - t for c, t in targets.items() if f"{c}_train_loss" in extras]
    worst = max(measured) if measured else None
    return Verdict(not problems, "worst training loss - target", worst, 0.0, "; ".join(problems), extras)
