"""HW7 sandbox driver: one function per task, calling the student's `intro2ai` package.

Runs inside the sandbox, next to student code. It receives only a case's probe inputs and JSON
parameters and returns raw arrays; it holds no expected values and judges nothing. The callback
tasks run the callbacks on a scripted training run (`ScriptedSolver`: the given Solver's hook
order with logs from the case, so the grade depends on the callbacks alone); the parent runs the
same function on the reference package to get the expected outputs.
"""

import hashlib
import tempfile
from pathlib import Path

import numpy as np

# ------------------------------------------------------------------ Q1 dropout


def dropout_train(inputs, params):
    """Train-mode forward three times: the case's seed twice (must agree) and another seed."""
    from intro2ai.layers import dropout_forward

    x, p = inputs["x"], params["p"]
    runs = [dropout_forward(x, {"mode": "train", "p": p, "seed": seed})[0]
            for seed in (params["seed"], params["seed"], params["seed"] + 1)]  # fmt: skip
    return {"out": np.asarray(runs[0]), "same_seed": np.asarray(runs[1]), "other_seed": np.asarray(runs[2])}


def dropout_test(inputs, params):
    from intro2ai.layers import dropout_forward

    out, _ = dropout_forward(inputs["x"], {"mode": "test", "p": params["p"], "seed": params["seed"]})
    return {"out": np.asarray(out)}


def dropout_backward(inputs, params):
    """The backward on the student's own forward's cache; the forward's output tells the mask."""
    from intro2ai import layers

    out, cache = layers.dropout_forward(inputs["x"], {"mode": "train", "p": params["p"], "seed": params["seed"]})
    dx = layers.dropout_backward(inputs["dout"], cache)
    return {"out": np.asarray(out), "dx": np.asarray(dx)}


# ------------------------------------------------------------------ Q2 FullyConnectedNet


def _net(kwargs):
    from intro2ai.classifiers.fc_net import FullyConnectedNet

    kwargs = dict(kwargs)
    if "dtype" in kwargs:
        kwargs["dtype"] = np.dtype(kwargs["dtype"]).type
    return FullyConnectedNet(**kwargs)


def net_init(inputs, params):
    np.random.seed(params["seed"])
    return dict(_net(params["kwargs"]).params)


class _GivenMasks:
    """Stands in for dropout_forward / dropout_backward inside the net: applies the masks the case
    sent (inverted dropout, kept / p), one per call in layer order, so that a Q1 bug costs nothing here."""

    def __init__(self, masks):
        self.masks, self.calls = masks, 0

    def forward(self, x, dropout_param):
        if dropout_param["mode"] != "train":
            return x, (dropout_param, None)
        mask = self.masks[self.calls % len(self.masks)] / dropout_param["p"]
        self.calls += 1
        return x * mask.astype(x.dtype), (dropout_param, mask)

    @staticmethod
    def backward(dout, cache):
        dropout_param, mask = cache
        return dout if mask is None else dout * mask.astype(dout.dtype)


def with_given_masks(masks, run):
    """Runs run() with every loaded intro2ai module's dropout functions replaced by _GivenMasks."""
    import sys

    if not masks:
        return run()
    given = _GivenMasks(masks)
    patched = []
    for name, module in list(sys.modules.items()):
        if (name == "intro2ai" or name.startswith("intro2ai.")) and hasattr(module, "dropout_forward"):
            patched.append((module, module.dropout_forward, module.dropout_backward))
            module.dropout_forward, module.dropout_backward = given.forward, given.backward
    try:
        return run()
    finally:
        for module, forward, backward in patched:
            module.dropout_forward, module.dropout_backward = forward, backward


def _seeded_net(inputs, params):
    model = _net(params["kwargs"])
    for key, value in inputs.items():
        if key.startswith("p_"):
            model.params[key[2:]] = value.copy()
    return model


def net_loss(inputs, params):
    """Loss and gradients with the grader's parameters (and dropout masks, if any) in the net."""
    model = _seeded_net(inputs, params)
    masks = [inputs[f"mask{i}"] for i in range(len(params["kwargs"]["hidden_dims"])) if f"mask{i}" in inputs]
    loss, grads = with_given_masks(masks, lambda: model.loss(inputs["X"], inputs["y"]))
    scores = model.loss(inputs["X"])
    outputs = {"loss": np.asarray(loss, dtype=np.float64), "scores": np.asarray(scores)}
    outputs.update({"grad_" + name: np.asarray(grad) for name, grad in grads.items()})
    return outputs


def net_gradcheck(inputs, params):
    """The seed's check: the given numeric gradient of the student's own loss against its analytic one."""
    from intro2ai.gradient_check import eval_numerical_gradient

    model = _seeded_net(inputs, params)
    X, y = inputs["X"], inputs["y"]
    _, grads = model.loss(X, y)
    outputs = {}
    for name in sorted(grads):
        outputs["ana_" + name] = np.asarray(grads[name])
        outputs["num_" + name] = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False, h=1e-5)
    return outputs


# ------------------------------------------------------------------ Q3 callbacks, save / load


class ScriptedSolver:
    """The given Solver's epoch loop and hooks with scripted logs and parameters (no training):
    epoch e's parameters are base + e, its logs the case's; records the learning rate each epoch
    trained with and, per epoch, whether it wrote a checkpoint file (-1: none; else the number in the
    file's name, 0 if it has none)."""

    def __init__(self, model, callbacks, lr):
        self.model, self.callbacks, self.stop_training = model, callbacks, False
        self.optim_config = {"learning_rate": lr}
        self.optim_configs = {p: {"learning_rate": lr} for p in model.params}

    def set_learning_rate(self, lr):
        self.optim_config["learning_rate"] = lr
        for config in self.optim_configs.values():
            config["learning_rate"] = lr

    def run(self, base, script, folder):
        epochs = len(script["val_loss"])
        lrs, saved, self.checkpoint = np.full(epochs, -1.0), np.full(epochs, -1, dtype=np.int64), {}
        for callback in self.callbacks:
            callback.on_train_begin(self)
        run = 0
        for epoch in range(epochs):
            for callback in self.callbacks:
                callback.on_epoch_begin(epoch, self)
            lrs[epoch] = next(iter(self.optim_configs.values()))["learning_rate"]
            self.model.params = {k: v + epoch for k, v in base.items()}
            logs = {"epoch": epoch, "loss": float(script["loss"][epoch]), "train_acc": float(script["train_acc"][epoch]),
                    "val_acc": float(script["val_acc"][epoch]), "val_loss": float(script["val_loss"][epoch]),
                    "lr": float(lrs[epoch])}  # fmt: skip
            before = _fingerprint(folder)
            for callback in self.callbacks:
                callback.on_epoch_end(epoch, logs, self)
            changed = sorted(set(_fingerprint(folder)) - set(before))
            if changed:
                digits = "".join(ch for ch in Path(changed[0][0]).stem if ch.isdigit())
                saved[epoch] = int(digits) if digits else 0  # the number in the file's name
                with np.load(Path(folder) / changed[0][0], allow_pickle=False) as written:
                    self.checkpoint = {k: written[k] for k in written.files}
            run = epoch + 1
            if self.stop_training:
                break
        for callback in self.callbacks:
            callback.on_train_end(self)
        return run, lrs, saved


def _fingerprint(folder):
    return sorted((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in Path(folder).glob("*.npz"))


def _schedule(spec):
    """The learning-rate schedules a case may name (the seed's decay among them)."""
    if spec["kind"] == "step":  # the seed's decay(epoch): 1e-3 before 3, 1e-4 before 7, then 1e-5
        return lambda epoch: next(v for edge, v in zip(spec["edges"] + [10**9], spec["values"], strict=True) if epoch < edge)
    return lambda epoch: spec["lr0"] * spec["gamma"] ** epoch


def _callback(spec, folder):
    from intro2ai import callbacks

    kind, kwargs = spec["kind"], dict(spec.get("kwargs", {}))
    if kind == "ModelCheckpoint":
        kwargs["filepath"] = str(Path(folder) / kwargs["filepath"])
    if kind == "CSVLogger":
        kwargs["filename"] = str(Path(folder) / kwargs["filename"])
    if kind == "LearningRateScheduler":
        kwargs["schedule"] = _schedule(kwargs["schedule"])
    return getattr(callbacks, kind)(**kwargs)


def callbacks(inputs, params):
    """The case's callbacks on a scripted run of a given LinearClassifier: epochs run, the learning
    rate of every epoch, the final parameters, the epochs that wrote a checkpoint, the newest
    written checkpoint's parameters and the CSV file's bytes (zero-padded to csv_bytes)."""
    from intro2ai.classifiers.linear import LinearClassifier

    folder = tempfile.mkdtemp(prefix="callbacks-")
    model = LinearClassifier(input_dim=params["input_dim"], num_classes=params["num_classes"], dtype=np.float64)
    base = {k: inputs["p_" + k] for k in model.params}
    callbacks_ = [_callback(spec, folder) for spec in params["callbacks"]]
    solver = ScriptedSolver(model, callbacks_, params["lr"])
    script = {k: inputs["script_" + k] for k in ("loss", "train_acc", "val_acc", "val_loss")}
    run, lrs, saved = solver.run(base, script, folder)
    outputs = {"epochs_run": np.asarray(run), "lr": lrs, "saved": saved}
    outputs.update({"final_" + k: np.asarray(v, dtype=np.float64) for k, v in model.params.items()})
    for k, v in base.items():
        outputs["checkpoint_" + k] = np.asarray(solver.checkpoint.get(k, np.zeros_like(v)), dtype=np.float64)
    csv = Path(folder) / "log.csv"
    data = csv.read_bytes()[: params["csv_bytes"]] if csv.exists() else b""
    outputs["csv"] = np.frombuffer(data.ljust(params["csv_bytes"], b"\0"), dtype=np.uint8).copy()
    return outputs


def save_load(inputs, params):
    """save_model then load_model on a given LinearClassifier: the loaded parameters, its scores on
    X, whether the files are <path>.npz (readable without pickle) and <path>.json, and whether
    load_model refuses an .npz holding a pickled object."""
    import json

    from intro2ai.callbacks import load_model, save_model
    from intro2ai.classifiers.linear import LinearClassifier

    folder = Path(tempfile.mkdtemp(prefix="model-"))
    model = LinearClassifier(input_dim=params["input_dim"], num_classes=params["num_classes"], dtype=params["dtype"])
    model.params = {k: inputs["p_" + k].astype(params["dtype"]) for k in model.params}
    save_model(model, str(folder / "model"))
    with np.load(folder / "model.npz", allow_pickle=False) as saved:
        npz_ok = sorted(saved.files) == sorted(model.params)
    json_ok = json.loads((folder / "model.json").read_text()).get("class") == "LinearClassifier"
    loaded = load_model(str(folder / "model"))
    outputs = {"loaded_" + k: np.asarray(v, dtype=np.float64) for k, v in loaded.params.items()}
    outputs.update({"scores": np.asarray(loaded.loss(inputs["X"]), dtype=np.float64), "files_ok": np.asarray([npz_ok, json_ok]),
                    "same_class": np.asarray(type(loaded).__name__ == "LinearClassifier"),
                    "refused_pickle": np.asarray(_refuses_pickle(load_model, folder / "model"))})  # fmt: skip
    return outputs


def _refuses_pickle(load_model, path):
    """Whether load_model raises on an .npz whose b1 is a pickled object array (allow_pickle=False does)."""
    with np.load(f"{path}.npz", allow_pickle=False) as saved:
        arrays = {k: saved[k] for k in saved.files}
    arrays["b1"] = np.array([{"pickled": True}], dtype=object)
    np.savez(f"{path}.npz", **arrays)
    try:
        load_model(str(path))
    except ValueError:
        return True
    return False


# ------------------------------------------------------------------ Q4, Q5 blocks and layers


def _grads(values, keys):
    if not isinstance(values, tuple) or len(values) != 2:
        raise TypeError("a block's backward returns (dx, grads)")
    dx, grads = values
    return {"dx": np.asarray(dx), **{"d" + k: np.asarray(grads[k]) for k in keys}}


def block(inputs, params):
    """A block's forward (and backward on its own cache, with the case's dout)."""
    from intro2ai import blocks

    block_params = {k[2:]: v for k, v in inputs.items() if k.startswith("p_")}
    extra = (params["block_param"],) if "block_param" in params else ()
    forward, backward = getattr(blocks, params["block"] + "_forward"), getattr(blocks, params["block"] + "_backward")
    try:
        out, cache = forward(inputs["x"], block_params, *extra)
    except ValueError as error:
        if "broadcast" not in str(error) or not extra or extra[0].get("stride") == 1:
            raise
        raise ValueError(f"{error} (stride {extra[0]['stride']}: the output is smaller than x; no skip connection "
                         f"when the stride is not 1)") from None  # fmt: skip
    outputs = {"out": np.asarray(out)}
    if "dout" in inputs:
        outputs.update(_grads(backward(inputs["dout"], cache), sorted(block_params)))
    return outputs


def residual_mismatch(inputs, params):
    """The seed's mistake, shapes that differ: residual_forward must raise ValueError (and whether
    the error was numpy's own broadcasting error rather than the function's check)."""
    from intro2ai.blocks import residual_forward

    block_params = {k[2:]: v for k, v in inputs.items() if k.startswith("p_")}
    try:
        residual_forward(inputs["x"], block_params)
    except ValueError as error:
        return {"raised": np.asarray(True), "numpy_error": np.asarray("could not be broadcast" in str(error))}
    return {"raised": np.asarray(False), "numpy_error": np.asarray(False)}


def relu6(inputs, params):
    from intro2ai.layers import relu6_backward, relu6_forward

    out, cache = relu6_forward(inputs["x"])
    return {"out": np.asarray(out), "dx": np.asarray(relu6_backward(inputs["dout"], cache))}


def depthwise(inputs, params):
    from intro2ai.layers import depthwise_conv_backward, depthwise_conv_forward

    conv_param = {"stride": params["stride"], "pad": params["pad"]}
    out, cache = depthwise_conv_forward(inputs["x"], inputs["w"], inputs["b"], conv_param)
    dx, dw, db = depthwise_conv_backward(inputs["dout"], cache)
    return {"out": np.asarray(out), "dx": np.asarray(dx), "dw": np.asarray(dw), "db": np.asarray(db)}


# ------------------------------------------------------------------ Q6 training


def train(inputs, params):
    """The seed's MLP with the given Solver (Adam) on the case's images; the trained parameters and
    the histories. Held-out images never enter the sandbox: the validation set is a stand-in."""
    from intro2ai.solver import Solver

    np.random.seed(params["seed"])
    model = _net(params["kwargs"])
    X, y = inputs["X_train"], inputs["y_train"]
    stand_in = min(len(X), 500)
    data = {"X_train": X, "y_train": y, "X_val": X[:stand_in], "y_val": y[:stand_in]}
    solver = Solver(model, data, num_epochs=params["num_epochs"], batch_size=params["batch_size"], update_rule="adam",
                    optim_config={"learning_rate": params["learning_rate"]}, verbose=False, num_train_samples=stand_in)  # fmt: skip
    solver.train()
    outputs = {name: np.asarray(value) for name, value in model.params.items()}
    outputs["loss_history"] = np.asarray(solver.loss_history, dtype=np.float64)
    outputs["train_acc_history"] = np.asarray(solver.train_acc_history, dtype=np.float64)
    return outputs
