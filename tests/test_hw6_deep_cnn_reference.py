"""HW6's reference package (reference/hw6_deep_cnn): batch normalization, the residual block and
ConvNet against numeric gradients and the seed's model.summary() parameter counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autograder.assignment import own_package
from autograder.grading.judge import rel_error

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "hw6_deep_cnn"

with own_package("intro2ai", path=REFERENCE):
    from intro2ai import layer_utils, layers
    from intro2ai.classifiers.convnet import ConvNet
    from intro2ai.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array


def test_batchnorm_train_mode_normalises_with_the_biased_variance_and_updates_running_averages():
    rng = np.random.default_rng(0)
    x = 12 + 5 * rng.standard_normal((7, 3))
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([11.0, 12.0, 13.0])
    bn_param = {"mode": "train", "momentum": 0.8, "eps": 1e-5}
    out, _ = layers.batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), gamma * np.sqrt(x.var(0) / (x.var(0) + 1e-5)), rtol=1e-10)
    np.testing.assert_allclose(bn_param["running_mean"], 0.2 * x.mean(axis=0))
    np.testing.assert_allclose(bn_param["running_var"], 0.2 * x.var(axis=0))
    bn_param["mode"] = "test"
    single, _ = layers.batchnorm_forward(x[:1], gamma, beta, bn_param)  # N = 1: the running statistics
    np.testing.assert_allclose(single, gamma * (x[:1] - 0.2 * x.mean(0)) / np.sqrt(0.2 * x.var(0) + 1e-5) + beta)


def test_batchnorm_backward_and_alt_match_numeric_gradients():
    rng = np.random.default_rng(1)
    x, gamma, beta, dout = 3 + rng.standard_normal((5, 4)), rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((5, 4))
    bn_param = {"mode": "train", "eps": 0.1}
    _, cache = layers.batchnorm_forward(x, gamma, beta, bn_param)
    numeric = [eval_numerical_gradient_array(lambda v, i=i: layers.batchnorm_forward(*[v if j == i else a for j, a in enumerate((x, gamma, beta))], bn_param)[0], a.copy(), dout)
               for i, a in enumerate((x, gamma, beta))]  # fmt: skip
    for backward in (layers.batchnorm_backward, layers.batchnorm_backward_alt):
        for got, want in zip(backward(dout, cache), numeric, strict=True):
            assert rel_error(got, want) < 1e-7, backward.__name__


def test_spatial_batchnorm_normalises_each_channel_over_n_h_w_and_its_gradient_is_exact():
    rng = np.random.default_rng(2)
    x = 10 + 4 * rng.standard_normal((3, 2, 4, 5))
    gamma, beta, dout = rng.standard_normal(2), rng.standard_normal(2), rng.standard_normal((3, 2, 4, 5))
    out, cache = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), beta, atol=1e-10)
    dx, _, _ = layers.spatial_batchnorm_backward(dout, cache)
    numeric = eval_numerical_gradient_array(lambda v: layers.spatial_batchnorm_forward(v, gamma, beta, {"mode": "train"})[0], x, dout)
    assert rel_error(dx, numeric) < 1e-7


@pytest.mark.parametrize(("C", "F", "stride"), [(3, 3, 1), (3, 5, 2)])
def test_residual_block_gradients_with_identity_and_projection(C, F, stride):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, C, 6, 5))
    p = {"W1": rng.standard_normal((F, C, 3, 3)) / 3, "b1": rng.standard_normal(F), "gamma1": rng.standard_normal(F),
         "beta1": rng.standard_normal(F), "W2": rng.standard_normal((F, F, 3, 3)) / 3, "b2": rng.standard_normal(F),
         "gamma2": rng.standard_normal(F), "beta2": rng.standard_normal(F)}  # fmt: skip
    if C != F or stride > 1:
        p.update(Wp=rng.standard_normal((F, C, 1, 1)), bp=rng.standard_normal(F))
    bn_params = [{"mode": "train"}, {"mode": "train"}]
    out, cache = layer_utils.residual_block_forward(x, p, bn_params, stride)
    assert out.shape == (2, F, (6 - 1) // stride + 1, (5 - 1) // stride + 1)
    dout = rng.standard_normal(out.shape)
    dx, grads = layer_utils.residual_block_backward(dout, cache)
    assert set(grads) == set(p)
    forward = lambda: layer_utils.residual_block_forward(x, p, bn_params, stride)[0]  # noqa: E731
    assert rel_error(dx, eval_numerical_gradient_array(lambda _: forward(), x, dout, h=1e-6)) < 1e-5
    for name in ("W1", "gamma1", "W2", "beta2", "Wp"):
        if name in p:
            numeric = eval_numerical_gradient_array(lambda _: forward(), p[name], dout, h=1e-6)
            assert np.max(np.abs(grads[name] - numeric)) < 1e-6 * max(1.0, np.max(np.abs(numeric))), name


def test_convnet_parameter_counts_are_the_seed_summary():
    model = ConvNet([16, "max_pool", 32, "max_pool", 64, "max_pool", 128, "max_pool"])
    counts = [model.params[f"W{k}"].size + model.params[f"b{k}"].size for k in range(1, 6)]
    assert counts == [448, 4640, 18496, 73856, 5130]  # Keras: conv2d_8..11 and the dense layer
    bn = ConvNet([64, 64, "max_pool"], use_batch_norm=True)
    assert bn.params["W1"].size + bn.params["b1"].size == 1792 and bn.params["gamma1"].size * 4 == 256
    assert all(v.dtype == np.float32 for v in bn.params.values()) and len(bn.bn_params) == 2


@pytest.mark.parametrize("options", [{}, {"use_batch_norm": True}, {"use_residual": True}])
def test_convnet_gradients_match_numeric_ones(options):
    np.random.seed(231)
    model = ConvNet([3, "max_pool", 4], input_dim=(2, 6, 8), weight_scale=0.3, reg=0.1, dtype=np.float64, **options)
    X, y = np.random.randn(3, 2, 6, 8), np.random.randint(10, size=3)
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name, value in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], value, verbose=False, h=1e-6)
        assert np.max(np.abs(grads[name] - numeric)) < 1e-6 * max(1.0, np.max(np.abs(numeric))), name
    assert model.loss(X).shape == (3, 10)


def test_convnet_test_mode_uses_the_running_statistics():
    np.random.seed(0)
    model = ConvNet([3], input_dim=(2, 4, 4), use_batch_norm=True, dtype=np.float64)
    X, y = np.random.randn(4, 2, 4, 4), np.zeros(4, dtype=int)
    model.loss(X, y)
    running = model.bn_params[0]["running_mean"].copy()
    scores = model.loss(X[:1])
    assert model.bn_params[0]["mode"] == "test"
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"], running)
    assert np.all(np.isfinite(scores))
