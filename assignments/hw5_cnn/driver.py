"""HW5 sandbox driver: one function per task, calling the student's `intro2ai` package.

Runs inside the sandbox, next to student code. It receives only a case's probe inputs and
JSON parameters and returns raw arrays; it holds no expected values and judges nothing.
"""

import numpy as np


def _conv_param(params):
    return {"stride": params["stride"], "pad": params["pad"]}


def _pool_param(params):
    return {"pool_height": params["pool_height"], "pool_width": params["pool_width"], "stride": params["stride"]}


def conv_forward(inputs, params):
    from intro2ai.layers import conv_forward_naive

    out, _ = conv_forward_naive(inputs["x"], inputs["w"], inputs["b"], _conv_param(params))
    return {"out": out}


def conv_backward(inputs, params):
    """Seed cell 5 on the cache the reference's forward pass built (sent as arrays): Q1 plays no part."""
    from intro2ai.layers import conv_backward_naive

    cache = (inputs["cache_x"], inputs["cache_w"], inputs["cache_b"], _conv_param(params))
    return _gradients(conv_backward_naive(inputs["dout"], cache), ("dx", "dw", "db"))


def conv_backward_own_cache(inputs, params):
    """The second chance: the cache of the student's own conv_forward_naive (its own layout)."""
    from intro2ai.layers import conv_backward_naive, conv_forward_naive

    _, cache = conv_forward_naive(inputs["x"], inputs["w"], inputs["b"], _conv_param(params))
    return _gradients(conv_backward_naive(inputs["dout"], cache), ("dx", "dw", "db"))


def pool_forward(inputs, params):
    from intro2ai.layers import max_pool_forward_naive

    out, _ = max_pool_forward_naive(inputs["x"], _pool_param(params))
    return {"out": out}


def pool_backward(inputs, params):
    """Seed cell 7 on the reference's cache: Q3 plays no part."""
    from intro2ai.layers import max_pool_backward_naive

    return {"dx": max_pool_backward_naive(inputs["dout"], (inputs["cache_x"], _pool_param(params)))}


def pool_backward_own_cache(inputs, params):
    from intro2ai.layers import max_pool_backward_naive, max_pool_forward_naive

    _, cache = max_pool_forward_naive(inputs["x"], _pool_param(params))
    return {"dx": max_pool_backward_naive(inputs["dout"], cache)}


def _gradients(values, names):
    if not isinstance(values, tuple) or len(values) != len(names):
        raise TypeError(f"expected a tuple {names}, got {type(values).__name__}")
    return dict(zip(names, values, strict=True))


def _model(kwargs):
    from intro2ai.classifiers.cnn import ThreeLayerConvNet

    kwargs = dict(kwargs)
    if "dtype" in kwargs:
        kwargs["dtype"] = np.dtype(kwargs["dtype"]).type
    if "input_dim" in kwargs:
        kwargs["input_dim"] = tuple(kwargs["input_dim"])
    return ThreeLayerConvNet(**kwargs)


def net_init(inputs, params):
    model = _model(params["kwargs"])
    return {name: value for name, value in model.params.items()}


def _seeded_model(inputs, params):
    model = _model(params["kwargs"])
    for key, value in inputs.items():
        if key.startswith("p_"):
            model.params[key[2:]] = value.copy()
    model.reg = params["reg"]
    return model


def net_loss(inputs, params):
    """Seed cell 11/12: loss and gradients with the grader's parameters loaded into the model."""
    model = _seeded_model(inputs, params)
    loss, grads = model.loss(inputs["X"], inputs["y"])
    outputs = {"loss": np.asarray(loss, dtype=np.float64)}
    outputs.update({"grad_" + name: grad for name, grad in grads.items()})
    return outputs


def net_gradcheck(inputs, params):
    """Seed cell 12: the template's numeric gradient against the student's analytic one."""
    from intro2ai.gradient_check import eval_numerical_gradient

    model = _seeded_model(inputs, params)
    X, y = inputs["X"], inputs["y"]
    _, grads = model.loss(X, y)
    outputs = {}
    for name in sorted(grads):
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False, h=1e-6)
        outputs["ana_" + name] = grads[name]
        outputs["num_" + name] = numeric
    return outputs


def net_train(inputs, params):
    """Seed cells 13/17: trains with the template's Solver and returns the trained parameters."""
    from intro2ai.solver import Solver

    np.random.seed(params["seed"])
    kwargs = {k: params[k] for k in ("weight_scale", "hidden_dim", "reg") if k in params}
    model = _model(kwargs)
    X, y = inputs["X_train"], inputs["y_train"]
    stand_in = min(len(X), 500)  # held-out images never enter the sandbox
    data = {"X_train": X, "y_train": y, "X_val": X[:stand_in], "y_val": y[:stand_in]}
    solver = Solver(
        model, data, num_epochs=params["num_epochs"], batch_size=params["batch_size"], update_rule="adam",
        optim_config={"learning_rate": params["learning_rate"]}, verbose=False, num_train_samples=stand_in,
    )
    solver.train()
    outputs = {name: np.asarray(value) for name, value in model.params.items()}
    outputs["loss_history"] = np.asarray(solver.loss_history, dtype=np.float64)
    outputs["train_acc_history"] = np.asarray(solver.train_acc_history, dtype=np.float64)
    return outputs
