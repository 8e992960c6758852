"""HW5 parent-side checks: probe inputs, reference outputs and the judges of the network items.

Trusted code, run only in the grader's process; it never enters the sandbox. Probes build a
case's inputs from its JSON parameters (the seed notebook's exact recipes for public cases,
random shapes drawn from the run's seed for hidden ones); `expect_*` run the reference package;
judges turn validated student outputs into verdicts.
"""

from __future__ import annotations

import numpy as np
from intro2ai import data_utils, layers  # the reference package (the engine's own_package)
from intro2ai.classifiers.cnn import ThreeLayerConvNet

from autograder.grading.judge import (
    Verdict,
    accepts_nonfinite,
    judge_rel_error,
    judge_weight_std,
    rel_error,
)
from autograder.grading.training import TrainingData, constructor_kwargs
from autograder.grading.training import accuracy as batched_accuracy

# ------------------------------------------------------------------ layer probes (Q1-Q4)


def _legacy(params: dict, rng: np.random.Generator) -> np.random.RandomState:
    """The seed notebook's `np.random.seed(231)` stream when a case names a seed."""
    return np.random.RandomState(params["seed"] if "seed" in params else rng.integers(2**31))


def conv_inputs(params, rng, context):
    x_shape, w_shape = tuple(params["x_shape"]), tuple(params["w_shape"])
    if params.get("fill") == "linspace":  # seed cell 3
        x = np.linspace(-0.1, 0.5, num=np.prod(x_shape)).reshape(x_shape)
        w = np.linspace(-0.2, 0.3, num=np.prod(w_shape)).reshape(w_shape)
        b = np.linspace(-0.1, 0.2, num=w_shape[0])
        return {"x": x, "w": w, "b": b}
    state = _legacy(params, rng)
    return {"x": state.randn(*x_shape), "w": state.randn(*w_shape), "b": state.randn(w_shape[0])}


def conv_backward_inputs(params, rng, context):
    """Seed cell 5 draws x, w, b, dout in this order from seed 231; the cache is the reference forward's."""
    x_shape, w_shape = tuple(params["x_shape"]), tuple(params["w_shape"])
    state = _legacy(params, rng)
    x, w, b = state.randn(*x_shape), state.randn(*w_shape), state.randn(w_shape[0])
    out, (cache_x, cache_w, cache_b, _) = layers.conv_forward_naive(x, w, b, _conv_param(params))
    return {"x": x, "w": w, "b": b, "dout": state.randn(*out.shape),
            "cache_x": cache_x, "cache_w": cache_w, "cache_b": cache_b}  # fmt: skip


def pool_inputs(params, rng, context):
    x_shape = tuple(params["x_shape"])
    if params.get("fill") == "linspace":  # seed cell 6
        return {"x": np.linspace(-0.3, 0.4, num=np.prod(x_shape)).reshape(x_shape)}
    return {"x": _legacy(params, rng).randn(*x_shape)}


def pool_backward_inputs(params, rng, context):
    """Seed cell 7 draws x then dout from seed 231; the cache is the reference forward's."""
    state = _legacy(params, rng)
    x = state.randn(*params["x_shape"])
    out, (cache_x, _) = layers.max_pool_forward_naive(x, _pool_param(params))
    return {"x": x, "dout": state.randn(*out.shape), "cache_x": cache_x}


def _conv_param(params):
    return {"stride": params["stride"], "pad": params["pad"]}


def _pool_param(params):
    return {k: params[k] for k in ("pool_height", "pool_width", "stride")}


def expect_conv_forward(inputs, params, context):
    return {"out": layers.conv_forward_naive(inputs["x"], inputs["w"], inputs["b"], _conv_param(params))[0]}


def expect_conv_backward(inputs, params, context):
    _, cache = layers.conv_forward_naive(inputs["x"], inputs["w"], inputs["b"], _conv_param(params))
    dx, dw, db = layers.conv_backward_naive(inputs["dout"], cache)
    return {"dx": dx, "dw": dw, "db": db}


def expect_pool_forward(inputs, params, context):
    return {"out": layers.max_pool_forward_naive(inputs["x"], _pool_param(params))[0]}


def expect_pool_backward(inputs, params, context):
    _, cache = layers.max_pool_forward_naive(inputs["x"], _pool_param(params))
    return {"dx": layers.max_pool_backward_naive(inputs["dout"], cache)}


# ------------------------------------------------------------------ hidden cases


def conv_hidden(rng, count):
    """Other N, C, H, W, F; pad 0; stride 2 and 3; non-square inputs and kernels."""
    fixed = [
        {"label": "pad 0", "pad": 0, "stride": 1},
        {"label": "stride 2", "pad": 1, "stride": 2},
        {"label": "stride 3", "pad": 1, "stride": 3},
        {"label": "non-square input and kernel, pad 2", "pad": 2, "stride": 1, "square": False},
    ]
    cases = []
    for n in range(count):
        spec = fixed[n] if n < len(fixed) else {"label": "random", "pad": int(rng.integers(0, 3)),
                                                 "stride": int(rng.integers(1, 4)), "square": False}  # fmt: skip
        cases.append(_conv_case(rng, spec))
    return cases


def _conv_case(rng, spec):
    stride, pad = spec["stride"], spec["pad"]
    kh = int(rng.integers(1, 5))
    kw = kh if spec.get("square", True) else int(rng.choice([k for k in range(1, 6) if k != kh]))
    n, c, f = (int(v) for v in rng.integers(1, 4, size=3))
    h = _valid_size(rng, kh, pad, stride)
    w = _valid_size(rng, kw, pad, stride, avoid=None if spec.get("square", True) else h)
    params = {"x_shape": [n, c, h, w], "w_shape": [f, c, kh, kw], "stride": stride, "pad": pad,
              "fill": "randn", "seed": int(rng.integers(2**31))}  # fmt: skip
    return {"name": f"hidden: {spec['label']} {params['x_shape']} * {params['w_shape']}", "params": params}


def _valid_size(rng, kernel, pad, stride, avoid=None):
    """A size for which (size + 2 pad - kernel) is a non-negative multiple of stride."""
    sizes = [s for s in range(max(kernel, 3), 12) if (s + 2 * pad - kernel) % stride == 0 and s != avoid]
    return int(rng.choice(sizes))


def pool_hidden(rng, count):
    """Overlapping and rectangular pools, non-square inputs, strides 1 to 3."""
    fixed = [
        {"label": "overlapping 3x3 stride 2", "ph": 3, "pw": 3, "stride": 2},
        {"label": "rectangular 2x3 stride 1", "ph": 2, "pw": 3, "stride": 1},
        {"label": "3x2 stride 3", "ph": 3, "pw": 2, "stride": 3},
    ]
    cases = []
    for n in range(count):
        spec = fixed[n] if n < len(fixed) else {"label": "random", "ph": int(rng.integers(1, 4)),
                                                 "pw": int(rng.integers(1, 4)), "stride": int(rng.integers(1, 4))}  # fmt: skip
        h = _valid_size(rng, spec["ph"], 0, spec["stride"])
        w = _valid_size(rng, spec["pw"], 0, spec["stride"], avoid=h)
        params = {"x_shape": [int(rng.integers(1, 4)), int(rng.integers(1, 4)), h, w],
                  "pool_height": spec["ph"], "pool_width": spec["pw"], "stride": spec["stride"],
                  "fill": "randn", "seed": int(rng.integers(2**31))}  # fmt: skip
        cases.append({"name": f"hidden: {spec['label']} on {params['x_shape']}", "params": params})
    return cases


def net_hidden(rng, count):
    """Non-default network sizes with reg > 0: loss and all gradients against the reference."""
    cases = []
    for _ in range(count):
        h, w = (int(v) for v in rng.choice([6, 8, 10, 12], size=2, replace=False))
        kwargs = {"input_dim": [int(rng.integers(1, 4)), h, w], "num_filters": int(rng.integers(2, 6)),
                  "filter_size": int(rng.choice([3, 5])), "hidden_dim": int(rng.integers(5, 12)),
                  "num_classes": int(rng.integers(3, 8)), "weight_scale": 1e-2, "dtype": "float64"}  # fmt: skip
        params = {"kwargs": kwargs, "reg": float(np.round(rng.uniform(0.05, 0.5), 3)), "n": 3,
                  "seed": int(rng.integers(2**31))}  # fmt: skip
        cases.append({
            "name": f"hidden: gradients, reg {params['reg']}, input {kwargs['input_dim']}", "points": 2.0,
            "task": "net_loss", "probe": "net_loss_inputs", "expect": "net_loss", "judge": "net_grads",
            "threshold": 1e-6, "params": params, "group": "Q5",
        })  # fmt: skip
    return cases


# ------------------------------------------------------------------ network (Q5)


def _reference_model(kwargs: dict, seed: int | None = None) -> ThreeLayerConvNet:
    if seed is not None:
        np.random.seed(seed % 2**32)
    return ThreeLayerConvNet(**constructor_kwargs(kwargs))


def net_init_inputs(params, rng, context):
    return {}


def expect_net_init(inputs, params, context):
    return dict(_reference_model(params["kwargs"]).params)


def net_init(outputs, expected, case, context):
    """Shapes (validated), exact dtype, zero biases, weights drawn at the requested scale (each W's
    sample std within std_tolerance of weight_scale: judge_weight_std)."""
    scale = case.params["kwargs"].get("weight_scale", 1e-3)
    for name, ref in expected.items():
        got = outputs[name]
        if got.dtype != ref.dtype:
            return Verdict(False, "init", None, None, f"{name}: dtype {got.dtype}, expected {ref.dtype}")
        if name.startswith("b") and np.any(got != 0):
            return Verdict(False, "init", None, None, f"{name}: biases must start at zero")
    return judge_weight_std({n: outputs[n] for n in expected if n.startswith("W")}, scale)


def net_loss_inputs(params, rng, context):
    """Seed cells 11/12: random X, y and the grader's own parameters loaded into the model."""
    kwargs = params["kwargs"]
    state = _legacy(params, rng)
    input_dim = tuple(kwargs.get("input_dim", (3, 32, 32)))
    X = state.randn(params["n"], *input_dim)
    y = state.randint(kwargs.get("num_classes", 10), size=params["n"])
    model = _reference_model(kwargs, seed=int(state.randint(2**31)))
    return {"X": X, "y": y, **{"p_" + k: v for k, v in model.params.items()}}


def expect_net_loss(inputs, params, context):
    model = _reference_model(params["kwargs"])
    model.params.update({k[2:]: v.copy() for k, v in inputs.items() if k.startswith("p_")})
    model.reg = params["reg"]
    loss, grads = model.loss(inputs["X"], inputs["y"])
    return {"loss": np.asarray(loss, dtype=np.float64), **{"grad_" + k: v for k, v in grads.items()}}


def expect_net_loss_value(inputs, params, context):
    return {"loss": expect_net_loss(inputs, params, context)["loss"]}


def net_loss(outputs, expected, case, context):
    return judge_rel_error(outputs, expected, case.threshold)


def net_grads(outputs, expected, case, context):
    return judge_rel_error(outputs, expected, case.threshold)


def expect_gradcheck(inputs, params, context):
    """The reference's analytic gradients, under both names the sandbox returns."""
    grads = {k[len("grad_"):]: v for k, v in expect_net_loss(inputs, params, context).items() if k.startswith("grad_")}
    return {prefix + name: grad for name, grad in grads.items() for prefix in ("ana_", "num_")}


def gradcheck(outputs, expected, case, context):
    """Seed cell 12: numeric vs analytic gradient, per parameter, at the seed's tolerance.

    Both come from the sandbox, so the numeric gradient must also agree with the reference's
    analytic gradient: a loss that is wrong (a constant, say) with gradients that match it fails.
    """
    errors = {}
    for name in (key[len("ana_"):] for key in expected if key.startswith("ana_")):
        numeric = outputs["num_" + name]
        errors[name] = max(rel_error(numeric, outputs["ana_" + name]), rel_error(numeric, expected["ana_" + name]))
    worst = max(errors, key=errors.get)
    passed = errors[worst] <= case.threshold
    message = "" if passed else f"{worst}: the numeric gradient of your loss disagrees with the analytic gradient ({errors[worst]:.2e})"
    return Verdict(passed, "rel_error", errors[worst], case.threshold, message)


# ------------------------------------------------------------------ training (Q5)


DATA = TrainingData(lambda source, n: data_utils.get_CIFAR10_data(num_training=n, source=source),
                    data_utils.describe_source)
describe_data = DATA.describe_data
train_inputs = DATA.train_inputs  # the first `num_train` images (a declared size: tests train a small configuration)
OVERFIT_POOL = 1000  # the overfit case needs 100 images: load a small pool, not the whole set
FULL_TRAINING = 49000  # the seed's training split, from which train_accuracy draws its evaluation sample


def overfit_inputs(params, rng, context):
    data = DATA.get(context, OVERFIT_POOL)
    n = params["num_train"]
    return {"X_train": data["X_train"][:n], "y_train": data["y_train"][:n]}


def expect_train_eval(inputs, params, context):
    kwargs = {k: params[k] for k in ("weight_scale", "hidden_dim", "reg") if k in params}
    return dict(_reference_model(kwargs).params)


def _accuracy(trained: dict, expected: dict, X: np.ndarray, y: np.ndarray) -> float:
    """The reference forward pass with the student's trained parameters."""
    model = _reference_model({"hidden_dim": expected["W2"].shape[1]})
    model.params.update({k: np.asarray(trained[k], dtype=expected[k].dtype) for k in expected})
    return batched_accuracy(model, X, y, batch=200)


def _curves(outputs) -> dict:
    return {k: [float(v) for v in outputs[k][:2000]] for k in ("loss_history", "train_acc_history") if k in outputs}


def training_diagnosis(losses: np.ndarray, accuracies: np.ndarray, num_classes: int) -> str:
    """Why a training run failed, read from the loss and accuracy histories the sandbox returned.

    One line with the likely cause, or "" when the histories look like learning. Checked in
    order of certainty: a NaN/inf loss (the exact iteration is known), a loss that grew, a loss
    that never left log(C) (the loss of uniform scores, where a net starts), and a training
    accuracy that never left chance (the loss may move while the predictions ignore the image).
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.size == 0:
        return ""
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        i = int(bad[0])
        kind = "NaN" if np.isnan(losses[i]) else "inf"
        return (f"the loss became {kind} at iteration {i + 1} of {losses.size}: np.exp overflowed or a "
                f"probability reached 0 in softmax_loss; subtract each row's maximum score before np.exp "
                f"(the max-subtraction trick)")  # fmt: skip
    chance_loss, tail = float(np.log(num_classes)), max(1, losses.size // 10)
    start, end = float(np.mean(losses[:tail])), float(np.mean(losses[-tail:]))
    if end > max(start, chance_loss) + 1.0:
        return (f"the loss grew from {start:.2f} to {end:.2f} in {losses.size} iterations: the updates "
                f"go uphill; check the signs of the gradients in loss() and softmax_loss (dscores = "
                f"probabilities - one-hot labels, the reg gradient + reg * W)")  # fmt: skip
    if np.max(np.abs(losses - chance_loss)) < 0.05:
        return (f"the loss stayed at log({num_classes}) = {chance_loss:.2f} for all {losses.size} "
                f"iterations: the weights never learned; check that loss() returns nonzero gradients "
                f"for every parameter (a ReLU or pooling backward that zeroes them, or grads not stored)")  # fmt: skip
    accuracies = np.asarray(accuracies, dtype=np.float64)
    if accuracies.size and np.nanmax(accuracies) < 1.5 / num_classes:
        return (f"the training accuracy stayed at chance ({1 / num_classes:.2f}) while the loss went from "
                f"{start:.2f} to {end:.2f}: the predictions do not depend on the image; check the forward "
                f"pass in loss() (every layer's input is the previous layer's output)")  # fmt: skip
    return ""


def _training_verdict(outputs, expected, accuracy: float, target: float, shortfall: str, extras: dict) -> Verdict:
    """Pass/fail on the accuracy; a failure leads with the diagnosis, which extras also carry."""
    losses = outputs["loss_history"]
    broken = [name for name in expected if not np.all(np.isfinite(outputs[name]))]
    if broken and np.all(np.isfinite(losses)):
        diagnosis = f"the trained {', '.join(broken)} hold NaN or inf values though the loss stayed finite"
    else:
        diagnosis = training_diagnosis(losses, outputs.get("train_acc_history", ()), expected["b3"].size)
    passed = accuracy >= target
    message = "" if passed else (f"{diagnosis} ({shortfall})" if diagnosis else shortfall)
    extras = {**extras, **_curves(outputs), **({"diagnosis": diagnosis} if diagnosis else {})}
    return Verdict(passed, "train_accuracy", accuracy, target, message, extras)


@accepts_nonfinite
def overfit(outputs, expected, case, context):
    """Seed cells 13-14: the trained net must (over)fit its 100 training images."""
    data = DATA.get(context, OVERFIT_POOL)
    n = case.params["num_train"]
    target = context.targets[case.target]
    accuracy = _accuracy(outputs, expected, data["X_train"][:n], data["y_train"][:n])
    shortfall = f"training accuracy on the {n} examples is {accuracy:.2f} (< {target:.2f}): the net does not overfit"
    return _training_verdict(outputs, expected, accuracy, target, shortfall, {})


@accepts_nonfinite
def train_accuracy(outputs, expected, case, context):
    """Seed cell 17: accuracy on a fixed training sample (the target) and on held-out images."""
    data = DATA.get(context, FULL_TRAINING)
    target = context.targets[case.target]
    sample = np.random.default_rng(0).choice(len(data["X_train"]), case.params["eval_samples"], replace=False)
    train_acc = _accuracy(outputs, expected, data["X_train"][sample], data["y_train"][sample])
    held_out = _accuracy(outputs, expected, data["X_val"], data["y_val"])
    shortfall = f"training accuracy {train_acc:.3f} is below the target {target:.2f}"
    return _training_verdict(outputs, expected, train_acc, target, shortfall, {"held_out_accuracy": held_out})
