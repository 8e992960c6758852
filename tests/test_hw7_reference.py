"""HW7's reference package on its own (no sandbox): numeric gradient checks of every backward pass,
the callbacks on the real Solver, save/load, the Fashion-MNIST idx reader and the embedded data."""

from __future__ import annotations

import dataclasses
import gzip

import numpy as np
import pytest

from autograder.assignment import load_assignment

HW7 = load_assignment("hw7_mlp_blocks")
CHECKS = HW7.checks()


@pytest.fixture(scope="module")
def ref():
    """The reference modules, imported from HW7's folder (HW5's package has the same name)."""
    with CHECKS.own_reference():
        from intro2ai import blocks, callbacks, fashion_data, layers, solver
        from intro2ai.classifiers import fc_net
        from intro2ai.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array

        yield dict(blocks=blocks, callbacks=callbacks, fashion_data=fashion_data, layers=layers, solver=solver,
                   fc_net=fc_net, num=eval_numerical_gradient, num_array=eval_numerical_gradient_array)  # fmt: skip


def rel_error(x, y):
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def test_dropout_keeps_p_scales_by_1_over_p_and_the_backward_uses_the_mask(ref):
    layers = ref["layers"]
    x = np.random.default_rng(0).standard_normal((300, 300)) + 10
    out, cache = layers.dropout_forward(x, {"mode": "train", "p": 0.8, "seed": 1})
    assert abs((out != 0).mean() - 0.8) < 0.01
    assert np.allclose(out[out != 0], x[out != 0] / 0.8)
    assert np.array_equal(layers.dropout_forward(x, {"mode": "test", "p": 0.8})[0], x)
    param = {"mode": "train", "p": 0.3, "seed": 123}
    small, dout = x[:6, :7], np.random.default_rng(1).standard_normal((6, 7))
    _, cache = layers.dropout_forward(small, param)
    numeric = ref["num_array"](lambda v: layers.dropout_forward(v, param)[0], small.copy(), dout)
    assert rel_error(layers.dropout_backward(dout, cache), numeric) < 1e-9


def test_relu6_and_depthwise_backward_match_numeric_gradients(ref):
    layers, num = ref["layers"], ref["num_array"]
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 8, (4, 5))
    dout = rng.standard_normal(x.shape)
    _, cache = layers.relu6_forward(x)
    assert rel_error(layers.relu6_backward(dout, cache), num(lambda v: layers.relu6_forward(v)[0], x, dout)) < 1e-8
    assert np.array_equal(layers.relu6_backward(np.ones(2), layers.relu6_forward(np.array([0.0, 6.0]))[1]), np.zeros(2))
    x, w, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((3, 1, 3, 3)), rng.standard_normal(3)
    conv = {"stride": 2, "pad": 1}
    out, cache = layers.depthwise_conv_forward(x, w, b, conv)
    assert out.shape == (2, 3, 3, 3)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.depthwise_conv_backward(dout, cache)
    assert rel_error(dx, num(lambda v: layers.depthwise_conv_forward(v, w, b, conv)[0], x, dout)) < 1e-8
    assert rel_error(dw, num(lambda v: layers.depthwise_conv_forward(x, v, b, conv)[0], w, dout)) < 1e-8
    assert rel_error(db, num(lambda v: layers.depthwise_conv_forward(x, w, v, conv)[0], b, dout)) < 1e-8


@pytest.mark.parametrize("spec", [
    {"block": "residual", "x_shape": [2, 3, 5, 5], "spec": {"F": 4}},
    {"block": "inception", "x_shape": [1, 3, 5, 4], "spec": {"F1": 2, "R3": 2, "F3": 3, "R5": 1, "F5": 2, "FP": 2}},
    {"block": "inverted_residual", "x_shape": [2, 3, 5, 5], "spec": {"t": 2, "C_out": 3}, "block_param": {"stride": 1}},
    {"block": "inverted_residual", "x_shape": [1, 2, 6, 5], "spec": {"t": 3, "C_out": 4}, "block_param": {"stride": 2}},
])  # fmt: skip
def test_block_backward_passes_match_numeric_gradients(ref, spec):
    params = {**spec, "seed": 3, "backward": True}
    inputs = CHECKS.block_inputs(params, None, None)
    expected = CHECKS.expect_block(inputs, params, None)
    forward = getattr(ref["blocks"], spec["block"] + "_forward")
    extra = (spec["block_param"],) if "block_param" in spec else ()
    weights = {k[2:]: v for k, v in inputs.items() if k.startswith("p_")}
    numeric = ref["num_array"](lambda v: forward(v, weights, *extra)[0], inputs["x"].copy(), inputs["dout"])
    assert rel_error(expected["dx"], numeric) < 1e-7
    for name in ("w1", "w_dw", "w5"):
        if name in weights:
            numeric = ref["num_array"](lambda v, n=name: forward(inputs["x"], {**weights, n: v}, *extra)[0],
                                       weights[name].copy(), inputs["dout"])  # fmt: skip
            assert rel_error(expected["d" + name], numeric) < 1e-7, name


def test_inverted_residual_adds_the_skip_only_at_stride_1_with_equal_channels(ref):
    for block_param, spec, skip in (({"stride": 1}, {"t": 2, "C_out": 3}, True), ({"stride": 2}, {"t": 2, "C_out": 3}, False),
                                    ({"stride": 1}, {"t": 2, "C_out": 4}, False)):  # fmt: skip
        params = {"block": "inverted_residual", "x_shape": [1, 3, 4, 4], "spec": spec, "block_param": block_param, "seed": 4, "backward": False}
        inputs = CHECKS.block_inputs(params, None, None)
        assert ref["blocks"].inverted_residual_forward(inputs["x"], {k[2:]: v for k, v in inputs.items() if k.startswith("p_")},
                                                       block_param)[1][-1] is skip  # fmt: skip


@pytest.mark.parametrize("kwargs", [{"reg": 0.7, "l1": 0.1}, {"dropout": 0.5, "reg": 0.1, "l1": 0.05, "seed": 123}])
def test_fully_connected_net_gradients_with_l1_l2_and_dropout(ref, kwargs):
    np.random.seed(231)
    model = ref["fc_net"].FullyConnectedNet([6, 5], input_dim=7, num_classes=4, weight_scale=0.3, dtype=np.float64, **kwargs)
    X, y = np.random.randn(3, 7), np.random.randint(4, size=3)
    loss, grads = model.loss(X, y)
    for name in grads:
        numeric = ref["num"](lambda _: model.loss(X, y)[0], model.params[name], verbose=False, h=1e-6)
        assert rel_error(grads[name], numeric) < 1e-6, name


def test_callbacks_on_the_real_solver_stop_schedule_checkpoint_and_log(ref, tmp_path):
    cb, fc_net = ref["callbacks"], ref["fc_net"]
    rng = np.random.default_rng(5)
    data = {"X_train": rng.standard_normal((60, 1, 4, 4)), "y_train": rng.integers(3, size=60),
            "X_val": rng.standard_normal((30, 1, 4, 4)), "y_val": rng.integers(3, size=30)}  # fmt: skip
    np.random.seed(0)
    model = fc_net.FullyConnectedNet([8], input_dim=16, num_classes=3, dtype=np.float64)
    stopper = cb.EarlyStopping(monitor="val_acc", patience=1, restore_best=True)
    callbacks = [stopper, cb.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)),
                 cb.ModelCheckpoint(str(tmp_path / "best.npz"), monitor="val_loss"), cb.CSVLogger(str(tmp_path / "log.csv"))]  # fmt: skip
    solver = ref["solver"].Solver(model, data, update_rule="sgd", num_epochs=30, batch_size=20, callbacks=callbacks, verbose=False)
    history = solver.train()
    assert [h["lr"] for h in history] == [0.1 / (e + 1) for e in range(len(history))]
    assert stopper.stopped_epoch == len(history) - 1 < 29  # random labels: val_acc stalls
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0] == "epoch,loss,lr,train_acc,val_acc,val_loss" and len(rows) == len(history) + 1
    with np.load(tmp_path / "best.npz", allow_pickle=False) as saved:
        assert sorted(saved.files) == sorted(model.params)


def test_save_and_load_round_trip_a_fully_connected_net(ref, tmp_path):
    cb = ref["callbacks"]
    model = ref["fc_net"].FullyConnectedNet([5], input_dim=6, num_classes=3, dropout=0.5, l1=0.1)
    cb.save_model(model, str(tmp_path / "m"))
    loaded = cb.load_model(str(tmp_path / "m"))
    assert loaded.config == model.config and type(loaded).__name__ == "FullyConnectedNet"
    X = np.random.default_rng(6).standard_normal((4, 6))
    assert np.array_equal(loaded.loss(X), model.loss(X))


def _idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_idx_files_are_read_and_split(ref, tmp_path, monkeypatch):
    fd = ref["fashion_data"]
    rng = np.random.default_rng(7)
    for prefix, n in (("train", 50), ("t10k", 20)):
        _idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(256, size=(n, 28, 28)), 2051)
        _idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(10, size=n), 2049)
    monkeypatch.setenv("INTRO2AI_FASHION_DIR", str(tmp_path))
    assert fd.describe_source("fashion-mnist") == "fashion-mnist" == fd.describe_source(str(tmp_path))
    data = fd.get_fashion_data(num_training=100, num_validation=10, num_test=5, source="fashion-mnist")
    assert data["X_train"].shape == (40, 1, 28, 28) and data["X_val"].shape == (10, 1, 28, 28)
    assert data["X_test"].shape == (5, 1, 28, 28) and 0 <= data["X_train"].min() and data["X_train"].max() <= 1
    with pytest.raises(ValueError, match="unknown data source"):
        fd.describe_source("cifar10")


def test_embedded_fashion_data_is_deterministic_with_prefixes_and_all_classes(ref):
    fd = ref["fashion_data"]
    small, large = fd.make_fashion_data(300, 10, 10), fd.make_fashion_data(1200, 10, 10)
    assert np.array_equal(small["X_train"], large["X_train"][:300])
    assert set(large["y_train"].tolist()) == set(range(10)) and large["X_train"].max() <= 255


def test_dropout_judges_pass_the_reference_on_other_seeds():
    """The Hoeffding-bounded dropout judges on the reference's own outputs for hidden seeds (no sandbox)."""
    question = HW7.question("Q1")
    for raw in CHECKS.dropout_hidden(np.random.default_rng(99), 4):
        case = dataclasses.replace(question.cases[0], params=raw["params"], name=raw["name"], expect=raw["expect"], judge=raw["judge"])
        inputs = CHECKS.dropout_inputs(case.params, None, None)
        expected = getattr(CHECKS, "expect_" + case.expect)(inputs, case.params, None)
        verdict = getattr(CHECKS, case.judge)(expected, expected, case, None)
        assert verdict.passed, (case.name, verdict.message)
