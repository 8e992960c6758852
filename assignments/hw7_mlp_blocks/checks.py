"""HW7 parent-side checks: probe inputs, reference outputs and the judges of the MLP, callbacks and blocks.

Trusted code, run only in the grader's process. Deterministic functions (the blocks, the layers,
the net with the grader's parameters) are compared with the reference. Dropout draws its own mask,
so it is judged by properties of the student's own output: every unit kept and scaled by 1 / p or
dropped, the kept fraction within a Hoeffding bound of p, the same seed giving the same mask, test
mode the identity, the backward using the forward's mask. The callbacks are judged by behaviour:
the parent runs the driver's scripted run on the reference package and compares what happened.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
from intro2ai import (  # HW7's reference package (the engine's own_package)
    blocks,
    fashion_data,
    layers,
)
from intro2ai.classifiers.fc_net import FullyConnectedNet

from autograder.assignment import import_file, own_package
from autograder.grading.judge import (
    Verdict,
    accepts_nonfinite,
    judge_rel_error,
    judge_weight_std,
    rel_error,
)
from autograder.grading.training import TrainingData, constructor_kwargs
from autograder.grading.training import accuracy as batched_accuracy

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "hw7_mlp_blocks"
PACKAGE = "intro2ai"
FALSE_FAILURE = 1e-8  # per statistical test


def own_reference():
    """A fresh import of HW7's reference package at call time (the engine's own_package; HW5's and
    HW8's packages have the same name and may be imported in this process)."""
    return own_package(PACKAGE, path=REFERENCE)


DRIVER = import_file("hw7_mlp_blocks_driver", Path(__file__).with_name("driver.py"))  # the parent runs its callback tasks on the reference


def hoeffding(n: int, spread: float = 1.0) -> float:
    """Half-width t with P(|mean of n independent values in [0, spread] - its expectation| >= t) <= FALSE_FAILURE."""
    return spread * math.sqrt(math.log(2 / FALSE_FAILURE) / (2 * n))


def _verdict(problems: list[str], metric: str, value: float | None = None, threshold: float | None = None,
             extras: dict | None = None) -> Verdict:  # fmt: skip
    return Verdict(not problems, metric, value, threshold, "; ".join(problems[:3]), extras)


def _state(params, rng):
    return np.random.default_rng(params["seed"] if "seed" in params else rng.integers(2**31))


# ------------------------------------------------------------------ Q1 dropout


def dropout_inputs(params, rng, context):
    """x away from 0 (a dropped unit is told by its 0), dout for the backward."""
    state = _state(params, rng)
    shape = tuple(params["shape"])
    x = (3 + state.standard_normal(shape)) * state.choice([-1.0, 1.0], shape)
    return {"x": x, "dout": state.standard_normal(shape)}


def expect_dropout_train(inputs, params, context):
    x, p = inputs["x"], params["p"]
    runs = [layers.dropout_forward(x, {"mode": "train", "p": p, "seed": s})[0] for s in (params["seed"], params["seed"], params["seed"] + 1)]
    return {"out": runs[0], "same_seed": runs[1], "other_seed": runs[2]}


def expect_dropout_test(inputs, params, context):
    return {"out": inputs["x"]}


def expect_dropout_backward(inputs, params, context):
    out, cache = layers.dropout_forward(inputs["x"], {"mode": "train", "p": params["p"], "seed": params["seed"]})
    return {"out": out, "dx": layers.dropout_backward(inputs["dout"], cache)}


def _mask_problems(out: np.ndarray, x: np.ndarray, p: float) -> list[str]:
    """Each unit is 0 or x / p; the kept fraction is p within Hoeffding's bound."""
    kept = out != 0
    if not np.allclose(out[kept], x[kept] / p, rtol=1e-6):
        if np.allclose(out[kept], x[kept], rtol=1e-6):
            return [f"kept units equal x: inverted dropout scales them by 1 / p = {1 / p:.3f} at train time"]
        if np.allclose(out[kept], x[kept] * p, rtol=1e-6):
            return ["kept units are x * p: inverted dropout divides by p at train time (test time is the identity)"]
        return ["the train-mode output is not x * mask / p with a 0/1 mask"]
    fraction, bound = float(kept.mean()), hoeffding(kept.size)
    if abs(fraction - p) > bound:
        hint = " (p is the probability of KEEPING a unit, not of dropping it)" if abs(fraction - (1 - p)) <= bound else ""
        return [f"{fraction:.3f} of the units were kept, expected p = {p} +- {bound:.3f}{hint}"]
    return []


def dropout_train(outputs, expected, case, context):
    x = dropout_inputs(case.params, None, None)["x"]
    problems = _mask_problems(outputs["out"], x, case.params["p"])
    if not problems and not np.array_equal(outputs["out"], outputs["same_seed"]):
        problems.append("two calls with the same dropout_param['seed'] gave different masks: call np.random.seed(seed) "
                        "before drawing the mask")  # fmt: skip
    if not problems and np.array_equal(outputs["out"], outputs["other_seed"]):
        problems.append("another seed gave the same mask: draw the mask from np.random after seeding")
    return _verdict(problems, "properties violated", float(len(problems)), 0.0)


def dropout_test(outputs, expected, case, context):
    out, x = outputs["out"], expected["out"]
    if np.allclose(out, x * case.params["p"]):
        return Verdict(False, "rel_error", rel_error(out, x), 0.0,
                       "test mode scales by p: with inverted dropout the scaling is done at train time and test mode returns x")  # fmt: skip
    return judge_rel_error(outputs, expected, 1e-12)


def dropout_backward(outputs, expected, case, context):
    """dx must be dout * mask / p with the mask of the forward pass (read from its output)."""
    p, inputs = case.params["p"], dropout_inputs(case.params, None, None)
    problems = _mask_problems(outputs["out"], inputs["x"], p)
    want = inputs["dout"] * (outputs["out"] != 0) / p
    value = rel_error(outputs["dx"], want)
    if not problems and value > 1e-10:
        same_count = abs(float((outputs["dx"] != 0).mean()) - float((outputs["out"] != 0).mean())) < hoeffding(want.size)
        problems.append("dx is not dout * mask / p with the forward pass's mask" + (
            ": a new mask was drawn in the backward; reuse the mask stored in the cache" if same_count else ""))  # fmt: skip
    return _verdict(problems, "rel_error", value, 1e-10)


def dropout_hidden(rng, count):
    specs = [((40, 50, 30), 0.3), ((1000, 20), 0.9), ((200, 300), 0.5), ((50, 6, 7, 8), 0.75)]
    cases = []
    for k in range(count):
        shape, p = specs[k % len(specs)]
        kind = ("train", "backward")[k % 2]
        cases.append({"name": f"hidden: {kind}, p = {p}, x of shape {shape}", "task": f"dropout_{kind}",
                      "expect": f"dropout_{kind}", "judge": f"dropout_{kind}",
                      "params": {"shape": list(shape), "p": p, "seed": int(rng.integers(2**31))}})  # fmt: skip
    return cases


# ------------------------------------------------------------------ Q2 FullyConnectedNet


def _reference_net(kwargs: dict) -> FullyConnectedNet:
    return FullyConnectedNet(**constructor_kwargs(kwargs))


def net_init_inputs(params, rng, context):
    return {}


def expect_net_init(inputs, params, context):
    np.random.seed(params["seed"])
    return dict(_reference_net(params["kwargs"]).params)


def net_init(outputs, expected, case, context):
    """Shapes (validated), dtype, zero biases, weights of std weight_scale (judge_weight_std).

    Every dtype and bias problem is listed at once, with the weights' verdict if it failed too."""
    scale = case.params["kwargs"].get("weight_scale", 1e-2)
    problems = []
    for name, ref in expected.items():
        got = outputs[name]
        if got.dtype != ref.dtype:
            problems.append(f"{name} has dtype {got.dtype}, expected {ref.dtype} (cast every parameter to dtype)")
        elif name.startswith("b") and np.any(got != 0):
            problems.append(f"{name} is not all zeros")
    weights = judge_weight_std({n: outputs[n] for n in expected if n.startswith("W")}, scale)
    if not problems:
        return weights
    problems += [] if weights.passed else [weights.message]
    return _verdict(problems, "properties violated", float(len(problems)), 0.0)


def net_loss_inputs(params, rng, context):
    """The grader's parameters (float64), a batch, and per hidden layer a dropout mask (if dropout)."""
    state = _state(params, rng)
    kwargs = params["kwargs"]
    dims = [kwargs.get("input_dim", 784), *kwargs["hidden_dims"], kwargs.get("num_classes", 10)]
    N = params["n"]
    inputs = {"X": state.standard_normal((N, dims[0])), "y": state.integers(dims[-1], size=N)}
    for i in range(len(dims) - 1):
        W = state.standard_normal((dims[i], dims[i + 1])) / math.sqrt(dims[i])
        W = np.where(np.abs(W) < 1e-3, 1e-3, W)  # off L1's kink at 0 (numeric gradients) ...
        if params.get("zero_weights"):
            W[0, :2] = 0.0  # ... unless the case asks for it: the L1 subgradient at 0 is 0 (np.sign(0))
        inputs[f"p_W{i + 1}"] = W
        inputs[f"p_b{i + 1}"] = 0.1 * state.standard_normal(dims[i + 1])
    if kwargs.get("dropout", 1) != 1:
        for i, width in enumerate(dims[1:-1]):
            inputs[f"mask{i}"] = (state.random((N, width)) < kwargs["dropout"]).astype(np.float64)
    return inputs


def expect_net_loss(inputs, params, context):
    """The reference net with the case's parameters; dropout applies the case's masks, as in the sandbox."""
    masks = [inputs[f"mask{i}"] for i in range(len(params["kwargs"]["hidden_dims"])) if f"mask{i}" in inputs]
    with own_reference():  # a fresh import, whose dropout functions the driver's patch replaces
        from intro2ai.classifiers.fc_net import FullyConnectedNet as Net

        model = Net(**{**params["kwargs"], "dtype": np.float64})
        model.params = {k[2:]: v.copy() for k, v in inputs.items() if k.startswith("p_")}
        loss, grads = DRIVER.with_given_masks(masks, lambda: model.loss(inputs["X"], inputs["y"]))
        scores = model.loss(inputs["X"])
    expected = {"loss": np.asarray(loss, dtype=np.float64), "scores": scores}
    expected.update({"grad_" + k: v for k, v in grads.items()})
    return expected


def net_loss(outputs, expected, case, context):
    verdict = judge_rel_error(outputs, expected, case.threshold)
    if verdict.passed:
        return verdict
    hints = []
    kwargs = case.params["kwargs"]
    if kwargs.get("l1", 0) and rel_error(outputs["loss"], expected["loss"]) <= case.threshold:
        hints.append("the loss is right but a weight gradient is not: the L1 term's gradient is l1 * np.sign(W)")
    if kwargs.get("reg", 0) and not kwargs.get("l1", 0):
        hints.append("L2: the loss adds 0.5 * reg * sum(W ** 2) per weight matrix and its gradient reg * W")
    if kwargs.get("dropout", 1) != 1:
        hints.append("dropout: after each hidden ReLU in the forward pass, dropout_backward before relu_backward")
    message = verdict.message + ("; " + "; ".join(hints) if hints else "")
    return Verdict(False, verdict.metric, verdict.value, verdict.threshold, message)


def expect_gradcheck(inputs, params, context):
    model = _reference_net(params["kwargs"])
    model.params.update({k[2:]: v.copy() for k, v in inputs.items() if k.startswith("p_")})
    _, grads = model.loss(inputs["X"], inputs["y"])
    expected = {}
    for name in sorted(grads):
        expected["ana_" + name] = grads[name]
        expected["num_" + name] = grads[name]
    return expected


def gradcheck(outputs, expected, case, context):
    """The seed's check: the student's analytic gradient against the numeric one of its own loss."""
    errors = {name[4:]: rel_error(outputs["ana_" + name[4:]], outputs[name]) for name in expected if name.startswith("num_")}
    worst = max(errors, key=errors.get)
    passed = errors[worst] <= case.threshold
    message = "" if passed else (f"analytic and numeric gradients disagree for {worst} (rel error {errors[worst]:.2e}): "
                                 f"the backward pass does not match the loss")  # fmt: skip
    return Verdict(passed, "max rel_error", errors[worst], case.threshold, message)


def net_hidden(rng, count):
    """Other depths and widths, with L2, L1 and dropout."""
    specs = [{"hidden_dims": [7, 5], "reg": 0.3, "l1": 0.05}, {"hidden_dims": [9], "dropout": 0.6, "l1": 0.1},
             {"hidden_dims": [6, 4, 5], "reg": 1.2, "dropout": 0.75}]  # fmt: skip
    cases = []
    for k in range(count):
        kwargs = {**specs[k % len(specs)], "input_dim": int(rng.integers(5, 20)), "num_classes": int(rng.integers(3, 8)),
                  "dtype": "float64"}  # fmt: skip
        cases.append({"name": f"hidden: hidden_dims {kwargs['hidden_dims']}, reg {kwargs.get('reg', 0)}, l1 "
                              f"{kwargs.get('l1', 0)}, dropout {kwargs.get('dropout', 1)}",
                      "params": {"kwargs": kwargs, "n": 6, "seed": int(rng.integers(2**31))}})  # fmt: skip
    return cases


# ------------------------------------------------------------------ Q3 callbacks, save / load


def callbacks_inputs(params, rng, context):
    """A scripted run: the model's base parameters and each epoch's logs (a noisy, then flat curve)."""
    state = _state(params, rng)
    E = params["epochs"]
    if "val_loss" in params:
        val_loss = np.asarray(params["val_loss"], dtype=np.float64)
    else:
        val_loss = np.round(1.0 / (1 + np.arange(E)) + 0.15 * state.random(E), 2)  # ties are possible, on purpose
    val_acc = np.round(1 - val_loss / 2, 3)
    return {"p_W1": state.standard_normal((params["input_dim"], params["num_classes"])),
            "p_b1": state.standard_normal(params["num_classes"]),
            "script_val_loss": val_loss, "script_val_acc": val_acc,
            "script_loss": val_loss * 0.9, "script_train_acc": np.minimum(1, val_acc + 0.05)}  # fmt: skip


def expect_callbacks(inputs, params, context):
    with own_reference():
        return DRIVER.callbacks(inputs, params)


def _csv_rows(data: np.ndarray) -> list[list[str]]:
    text = data.tobytes().rstrip(b"\0").decode("utf-8", errors="replace")
    return [row for row in csv.reader(io.StringIO(text)) if row]


def _csv_problems(got: np.ndarray, want: np.ndarray) -> list[str]:
    rows, ref = _csv_rows(got), _csv_rows(want)
    if not rows:
        return ["the CSV file is missing or empty"]
    if rows[0] != ref[0]:
        return [f"CSV header is {','.join(rows[0])}, expected {','.join(ref[0])} ('epoch', then the other keys sorted)"]
    if len(rows) != len(ref):
        return [f"the CSV file has {len(rows) - 1} epoch rows, expected {len(ref) - 1} (one per epoch, header once)"]
    for number, (row, want_row) in enumerate(zip(rows[1:], ref[1:], strict=True)):
        try:
            values = [float(v) for v in row]
        except ValueError:
            return [f"CSV row {number + 1} holds a value that is not a number: {row}"]
        if len(values) != len(want_row) or not np.allclose(values, [float(v) for v in want_row], rtol=1e-6, atol=1e-9):
            return [f"CSV row {number + 1} is {','.join(row)}, expected {','.join(want_row)}"]
    return []


def callbacks(outputs, expected, case, context):
    """What happened: the epochs run, each epoch's learning rate, the final (restored) parameters,
    the epochs that wrote a checkpoint and what it held, the CSV rows."""
    problems = []
    run, want = int(outputs["epochs_run"]), int(expected["epochs_run"])
    if run != want:
        off = " (off by one: stop when `patience` epochs in a row did not improve, counting from 0 after an improvement)" if abs(run - want) == 1 else ""
        problems.append(f"training ran {run} epochs, expected {want}{off}")
    lrs = outputs["lr"][:want]
    if not problems and not np.allclose(lrs, expected["lr"][:want], rtol=1e-9):
        epoch = int(np.flatnonzero(~np.isclose(lrs, expected["lr"][:want], rtol=1e-9))[0])
        problems.append(f"epoch {epoch} trained with learning rate {lrs[epoch]:g}, expected {expected['lr'][epoch]:g} "
                        f"(set it for every parameter at the start of the epoch: solver.set_learning_rate)")  # fmt: skip
    finals = [k for k in expected if k.startswith("final_")]
    if not problems and any(not np.array_equal(outputs[k], expected[k]) for k in finals):
        problems.append("the model's parameters at the end are not the expected ones (restore_best: copies of the best epoch's "
                        "parameters, put back when training stops)")  # fmt: skip
    if not problems and not np.array_equal(outputs["saved"] >= 0, expected["saved"] >= 0):
        got, ref = np.flatnonzero(outputs["saved"] >= 0).tolist(), np.flatnonzero(expected["saved"] >= 0).tolist()
        problems.append(f"checkpoints were written after epochs {got}, expected {ref} (save_best_only: only when the "
                        f"monitored value strictly improved)")  # fmt: skip
    if not problems and not np.array_equal(outputs["saved"], expected["saved"]):
        epoch = int(np.flatnonzero(outputs["saved"] != expected["saved"])[0])
        problems.append(f"the checkpoint written after epoch {epoch} (from 0) is numbered {outputs['saved'][epoch]}, expected "
                        f"{expected['saved'][epoch]}: fill {{epoch}} in filepath with the epoch counted from 1")  # fmt: skip
    checkpoints = [k for k in expected if k.startswith("checkpoint_")]
    if not problems and any(not np.array_equal(outputs[k], expected[k]) for k in checkpoints):
        problems.append("the last checkpoint does not hold the model's parameters of the epoch it was written at")
    if not problems and expected["csv"].any():  # a case with a CSVLogger
        problems += _csv_problems(outputs["csv"], expected["csv"])
    return _verdict(problems, "behaviours wrong", float(len(problems)), 0.0)


def callbacks_hidden(rng, count):
    """Other patiences, monitors, min_delta and schedules on random scripts."""
    specs = [
        [{"kind": "EarlyStopping", "kwargs": {"monitor": "val_loss", "patience": 1, "min_delta": 0.03, "restore_best": True}}],
        [{"kind": "EarlyStopping", "kwargs": {"monitor": "val_acc", "patience": 3, "min_delta": 0.01}},
         {"kind": "CSVLogger", "kwargs": {"filename": "log.csv"}}],
        [{"kind": "ModelCheckpoint", "kwargs": {"filepath": "best.npz", "monitor": "val_acc"}},
         {"kind": "LearningRateScheduler", "kwargs": {"schedule": {"kind": "exponential", "lr0": 0.01, "gamma": 0.5}}}],
    ]  # fmt: skip
    cases = []
    for k in range(count):
        spec = specs[k % len(specs)]
        cases.append({"name": "hidden: " + " + ".join(c["kind"] for c in spec) + " on a random script",
                      "params": {"epochs": 12, "input_dim": 4, "num_classes": 3, "lr": 1e-3, "csv_bytes": 4096,
                                 "callbacks": spec, "seed": int(rng.integers(2**31))}})  # fmt: skip
    return cases


def save_load_inputs(params, rng, context):
    state = _state(params, rng)
    D, K = params["input_dim"], params["num_classes"]
    return {"p_W1": state.standard_normal((D, K)), "p_b1": state.standard_normal(K), "X": state.standard_normal((5, D))}


def expect_save_load(inputs, params, context):
    with own_reference():
        return DRIVER.save_load(inputs, params)


def save_load(outputs, expected, case, context):
    npz_ok, json_ok = (bool(v) for v in outputs["files_ok"])
    problems = []
    if not bool(outputs["refused_pickle"]):
        problems.append("load_model loaded an .npz holding a pickled object: read it with np.load(..., allow_pickle=False) "
                        "(a pickle in a downloaded model file runs code)")  # fmt: skip
    if not npz_ok:
        problems.append("<path>.npz must hold exactly model.params, one array per name (np.savez(path + '.npz', **params))")
    if not json_ok:
        problems.append('<path>.json must hold {"class": the model class\'s name, "config": model.config}')
    if not problems and not bool(outputs["same_class"]):
        problems.append("load_model returned another class than the one saved")
    loaded = [k for k in expected if k.startswith("loaded_") or k == "scores"]
    worst = max(rel_error(outputs[k], expected[k]) for k in loaded)
    if not problems and worst > 1e-12:
        problems.append(f"the loaded model's parameters or scores differ from the saved model's (rel error {worst:.1e})")
    return _verdict(problems, "problems", float(len(problems)), 0.0)


# ------------------------------------------------------------------ Q4, Q5 blocks and layers


def _conv_weights(state, shapes: dict[str, tuple]) -> dict[str, np.ndarray]:
    return {"p_" + k: state.standard_normal(s) / math.sqrt(max(1, int(np.prod(s[1:])))) for k, s in shapes.items()}


def _block_shapes(params) -> dict[str, tuple]:
    C, spec = params["x_shape"][1], params["spec"]
    if params["block"] == "residual":
        F = spec["F"]
        return {"w1": (F, C, 3, 3), "b1": (F,), "w2": (spec.get("F2", C), F, 3, 3), "b2": (spec.get("F2", C),)}
    if params["block"] == "inception":
        F1, R3, F3, R5, F5, FP = (spec[k] for k in ("F1", "R3", "F3", "R5", "F5", "FP"))
        return {"w1": (F1, C, 1, 1), "b1": (F1,), "w3r": (R3, C, 1, 1), "b3r": (R3,), "w3": (F3, R3, 3, 3),
                "b3": (F3,), "w5r": (R5, C, 1, 1), "b5r": (R5,), "w5": (F5, R5, 5, 5), "b5": (F5,),
                "wp": (FP, C, 1, 1), "bp": (FP,)}  # fmt: skip
    E, C_out = C * spec["t"], spec["C_out"]
    return {"w_exp": (E, C, 1, 1), "b_exp": (E,), "w_dw": (E, 1, 3, 3), "b_dw": (E,), "w_proj": (C_out, E, 1, 1),
            "b_proj": (C_out,)}  # fmt: skip


def block_inputs(params, rng, context):
    state = _state(params, rng)
    inputs = {"x": state.standard_normal(tuple(params["x_shape"]))}
    inputs.update(_conv_weights(state, _block_shapes(params)))
    if params.get("backward", True):
        out, _ = _block_forward(inputs, params)
        inputs["dout"] = state.standard_normal(out.shape)
    return inputs


def _block_forward(inputs, params):
    block_params = {k[2:]: v for k, v in inputs.items() if k.startswith("p_")}
    extra = (params["block_param"],) if "block_param" in params else ()
    return getattr(blocks, params["block"] + "_forward")(inputs["x"], block_params, *extra)


def expect_block(inputs, params, context):
    out, cache = _block_forward(inputs, params)
    expected = {"out": out}
    if "dout" in inputs:
        dx, grads = getattr(blocks, params["block"] + "_backward")(inputs["dout"], cache)
        expected.update({"dx": dx, **{"d" + k: grads[k] for k in sorted(grads)}})
    return expected


def block(outputs, expected, case, context):
    verdict = judge_rel_error(outputs, expected, case.threshold)
    if verdict.passed or case.params["block"] != "inverted_residual":
        return verdict
    inputs = block_inputs(case.params, None, None)
    stride, same = case.params["block_param"]["stride"], case.params["x_shape"][1] == case.params["spec"]["C_out"]
    skip = stride == 1 and same
    diff = outputs["out"] - expected["out"]
    if not skip and diff.shape == inputs["x"].shape and np.allclose(diff, inputs["x"]):
        hint = f"; the skip was added though the stride is {stride}: add x only when the stride is 1 and the channels match"
    elif skip and np.allclose(diff, -inputs["x"]):
        hint = "; no skip: with stride 1 and as many output channels as input channels, add x (the residual)"
    else:
        hint = "; projection: 1x1 conv with NO activation (linear bottleneck); ReLU6 after the expansion and the depthwise conv"
    return Verdict(False, verdict.metric, verdict.value, verdict.threshold, verdict.message + hint)


def expect_residual_mismatch(inputs, params, context):
    return {"raised": np.asarray(True), "numpy_error": np.asarray(False)}


def residual_mismatch(outputs, expected, case, context):
    """The function's own shape check raised ValueError (numpy's broadcasting error does not count:
    with a 1-channel output numpy broadcasts without an error)."""
    passed = bool(outputs["raised"]) and not bool(outputs["numpy_error"])
    message = "" if passed else (
        f"conv2's output has {case.params['F2']} channels and x has {case.params['x_shape'][1]}: residual_forward must "
        f"check the shapes and raise ValueError (Keras: 'Inputs have incompatible shapes'), not leave it to numpy")  # fmt: skip
    return Verdict(passed, "raised ValueError", float(passed), 1.0, message)


def mismatch_inputs(params, rng, context):
    """The seed's mistake: the second conv has F2 filters where x has C channels."""
    state = _state(params, rng)
    C, F2 = params["x_shape"][1], params["F2"]
    inputs = {"x": state.standard_normal(tuple(params["x_shape"]))}
    inputs.update(_conv_weights(state, {"w1": (4, C, 3, 3), "b1": (4,), "w2": (F2, 4, 3, 3), "b2": (F2,)}))
    return inputs


def block_hidden(block_name: str, specs: list[tuple[list, dict, dict | None]], rng, count):
    cases = []
    for k in range(count):
        x_shape, spec, block_param = specs[k % len(specs)]
        params = {"block": block_name, "x_shape": x_shape, "spec": spec, "seed": int(rng.integers(2**31))}
        if block_param is not None:
            params["block_param"] = block_param
        label = f", stride {block_param['stride']}" if block_param else ""
        cases.append({"name": f"hidden: {block_name} on x {tuple(x_shape)}{label}", "params": params})
    return cases


RESIDUAL_SPECS = [([2, 3, 6, 5], {"F": 4}, None), ([1, 2, 7, 7], {"F": 6}, None)]
INCEPTION_SPECS = [([2, 3, 6, 7], {"F1": 3, "R3": 2, "F3": 3, "R5": 1, "F5": 2, "FP": 2}, None),
                   ([1, 4, 5, 5], {"F1": 2, "R3": 3, "F3": 2, "R5": 2, "F5": 3, "FP": 1}, None)]  # N != F1: a shape[0] mix-up shows
INVERTED_SPECS = [([2, 3, 7, 6], {"t": 2, "C_out": 3}, {"stride": 1}), ([2, 2, 7, 7], {"t": 3, "C_out": 2}, {"stride": 2}),
                  ([1, 4, 6, 6], {"t": 1, "C_out": 2}, {"stride": 1}), ([2, 4, 9, 8], {"t": 2, "C_out": 5}, {"stride": 2})]  # fmt: skip


def functional_hidden(rng, count):
    """Q4: one residual block, the rest Inception modules, on other shapes."""
    residual = block_hidden("residual", RESIDUAL_SPECS, rng, min(count, 1))
    return residual + block_hidden("inception", INCEPTION_SPECS, rng, count - len(residual))


def mobilenet_hidden(rng, count):
    """Q5: ReLU6, depthwise convolutions and inverted residual blocks in turn."""
    kinds = [relu6_hidden, depthwise_hidden, lambda r, n: block_hidden("inverted_residual", INVERTED_SPECS, r, n)]
    counts = [count // 3 + (k < count % 3) for k in range(3)]
    return [case for make, n in zip(kinds, counts, strict=True) for case in make(rng, n)]


def relu6_inputs(params, rng, context):
    """Values on both kinks (exactly 0 and 6) and around them."""
    state = _state(params, rng)
    x = state.uniform(-3, 9, tuple(params["shape"]))
    flat = x.reshape(-1)
    flat[: flat.size // 4] = state.choice([0.0, 6.0, -1e-9, 6 + 1e-9, 1e-9, 6 - 1e-9], flat.size // 4)
    state.shuffle(flat)
    return {"x": x, "dout": state.standard_normal(x.shape)}


def expect_relu6(inputs, params, context):
    out, cache = layers.relu6_forward(inputs["x"])
    return {"out": out, "dx": layers.relu6_backward(inputs["dout"], cache)}


def relu6(outputs, expected, case, context):
    verdict = judge_rel_error(outputs, expected, 1e-12)
    if verdict.passed:
        return verdict
    x = relu6_inputs(case.params, None, None)["x"]
    wrong = outputs["dx"] != expected["dx"]
    where = [v for v in (0.0, 6.0) if np.any(wrong & (x == v))]
    hint = (f"; dx is wrong at x = {', '.join(f'{v:g}' for v in where)}: the gradient is 0 at both kinks (0 < x < 6 passes "
            f"dout)") if where else ""  # fmt: skip
    return Verdict(False, verdict.metric, verdict.value, verdict.threshold, verdict.message + hint)


def relu6_hidden(rng, count):
    return [{"name": f"hidden: ReLU6 on {shape}", "task": "relu6", "probe": "relu6_inputs", "expect": "relu6", "judge": "relu6",
             "params": {"shape": list(shape), "seed": int(rng.integers(2**31))}}
            for shape in [(5, 7), (3, 4, 5, 6), (200,)][:count]]  # fmt: skip


def depthwise_inputs(params, rng, context):
    state = _state(params, rng)
    N, C, H, W = params["x_shape"]
    k = params["k"]
    x = state.standard_normal((N, C, H, W))
    w, b = state.standard_normal((C, 1, k, k)), state.standard_normal(C)
    out, _ = layers.depthwise_conv_forward(x, w, b, {"stride": params["stride"], "pad": params["pad"]})
    return {"x": x, "w": w, "b": b, "dout": state.standard_normal(out.shape)}


def expect_depthwise(inputs, params, context):
    conv_param = {"stride": params["stride"], "pad": params["pad"]}
    out, cache = layers.depthwise_conv_forward(inputs["x"], inputs["w"], inputs["b"], conv_param)
    dx, dw, db = layers.depthwise_conv_backward(inputs["dout"], cache)
    return {"out": out, "dx": dx, "dw": dw, "db": db}


def depthwise(outputs, expected, case, context):
    verdict = judge_rel_error(outputs, expected, case.threshold)
    if verdict.passed:
        return verdict
    return Verdict(False, verdict.metric, verdict.value, verdict.threshold, verdict.message + (
        "; depthwise: output channel c uses only input channel c and its own filter w[c, 0] (weights (C, 1, k, k), "
        "not (C, C, k, k): no sum over channels)"))  # fmt: skip


def depthwise_hidden(rng, count):
    specs = [([2, 3, 7, 6], 3, 2, 1), ([2, 5, 9, 7], 3, 3, 0), ([1, 4, 8, 8], 5, 1, 2), ([3, 2, 5, 9], 1, 1, 0)]
    cases = []
    for k in range(count):
        shape, kk, stride, pad = specs[k % len(specs)]
        params = {"x_shape": shape, "k": kk, "stride": stride, "pad": pad, "seed": int(rng.integers(2**31))}
        cases.append({"name": f"hidden: depthwise {kk}x{kk}, stride {stride}, pad {pad} on {tuple(shape)}", "task": "depthwise",
                      "probe": "depthwise_inputs", "expect": "depthwise", "judge": "depthwise", "params": params})  # fmt: skip
    return cases


# ------------------------------------------------------------------ Q6 training


def _load(source: str, num_training: int) -> dict[str, np.ndarray]:
    with own_reference():
        return fashion_data.get_fashion_data(num_training=num_training, num_validation=2000, num_test=0, source=source)


DATA = TrainingData(_load, fashion_data.describe_source)
describe_data = DATA.describe_data


def train_inputs(params, rng, context):
    data = DATA.get(context, params["pool"])
    n = params["num_train"]
    return {"X_train": data["X_train"][:n], "y_train": data["y_train"][:n]}


def expect_train(inputs, params, context):
    iterations = params["num_epochs"] * max(1, params["num_train"] // params["batch_size"])
    expected = dict(_reference_net(params["kwargs"]).params)
    expected.update({"loss_history": np.zeros(iterations), "train_acc_history": np.zeros(params["num_epochs"])})
    return expected


def _accuracy(outputs, params, X, y) -> float:
    """The reference forward pass (test mode) with the student's trained parameters."""
    model = _reference_net(params["kwargs"])
    model.params.update({k: np.asarray(outputs[k], dtype=v.dtype) for k, v in model.params.items()})
    return batched_accuracy(model, X, y, batch=500)


@accepts_nonfinite
def train_target(outputs, expected, case, context):
    """Accuracy of the trained net on held-out images (`held_out_accuracy`) or on its own training
    images (`overfit_accuracy`), against the target calibrated for the data source."""
    params, data = case.params, DATA.get(context, case.params["pool"])
    name, target = params["target"], params["targets"][describe_data(context)][params["target"]]
    losses = outputs["loss_history"]
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        return Verdict(False, name, None, target, f"the loss became {losses[bad[0]]} at iteration {bad[0] + 1}: check "
                                                  f"the loss and the gradients of FullyConnectedNet")  # fmt: skip
    if name == "overfit_accuracy":
        n = params["num_train"]
        X, y, what = data["X_train"][:n], data["y_train"][:n], f"its {n} training images"
    else:
        X, y, what = data["X_val"], data["y_val"], f"{len(data['y_val'])} held-out images"
    accuracy = _accuracy(outputs, params, X, y)
    passed = accuracy >= target
    extras = {"loss_history": [float(v) for v in losses[:2000]], "train_acc_history": [float(v) for v in outputs["train_acc_history"]]}
    message = "" if passed else (f"accuracy on {what} is {accuracy:.3f}, below the target {target:.2f}: check the training "
                                 f"loss curve (does it fall?) and dropout's train/test modes")  # fmt: skip
    return Verdict(passed, name, accuracy, target, message, extras)
