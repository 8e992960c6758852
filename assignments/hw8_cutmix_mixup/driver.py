"""HW8 sandbox driver: one function per task, calling the student's `intro2ai` package.

Runs inside the sandbox, next to student code. It receives only a case's probe inputs and JSON
parameters and returns raw arrays; it holds no expected values and judges nothing. Random tasks
get a numpy Generator seeded from the case's parameters (and numpy's global stream seeded too,
for code that uses it), so a regrade with the same seed sees the same draws.
"""

import numpy as np


def _generator(params):
    np.random.seed(params["seed"] % 2**32)
    return np.random.default_rng(params["seed"])


def _box(values):
    box = tuple(values)
    if len(box) != 4:
        raise ValueError(f"a box is (xa, ya, xb, yb), got {len(box)} values")
    return box


def clip_boxes(inputs, params):
    from intro2ai.augment import get_clip_box

    rng = _generator(params)
    boxes = [_box(get_clip_box(rng, params["H"], params["W"], params["alpha"])) for _ in range(params["n"])]
    array = np.asarray(boxes)
    if array.dtype.kind == "f" and np.all(array == np.round(array)):
        array = array.astype(np.int64)  # whole numbers as floats are accepted; fractions are not
    return {"boxes": array}


def mix_images(inputs, params):
    from intro2ai.augment import mix_2_images

    image_a = inputs["image_a"].copy()
    mixed = mix_2_images(image_a, inputs["image_b"].copy(), tuple(int(v) for v in inputs["box"]))
    return {"mixed": np.asarray(mixed), "image_a_after": image_a}


def mix_label(inputs, params):
    from intro2ai.augment import mix_2_label

    label_a = inputs["label_a"] if inputs["label_a"].ndim else int(inputs["label_a"])
    label_b = inputs["label_b"] if inputs["label_b"].ndim else int(inputs["label_b"])
    box = tuple(int(v) for v in inputs["box"])
    return {"mixed_label": np.asarray(mix_2_label(label_a, label_b, box, params["H"], params["W"], params["num_classes"]))}


def mixup_pair(inputs, params):
    from intro2ai.augment import mixup_2_images

    labels = [inputs[k] if inputs[k].ndim else int(inputs[k]) for k in ("label_a", "label_b")]
    image, label = mixup_2_images(inputs["image_a"], inputs["image_b"], *labels, float(inputs["lam"]), params["num_classes"])
    return {"mixed_image": np.asarray(image), "mixed_label": np.asarray(label)}


def batches(inputs, params):
    """Calls cutmix or mixup `calls` times on the same batch, with one generator."""
    from intro2ai import augment

    function = getattr(augment, params["method"])
    rng = _generator(params)
    images, labels = inputs["images"], inputs["labels"]
    N, K = len(images), params["num_classes"]
    mixed_imgs, mixed_labels = [], []
    for _ in range(params["calls"]):
        result = function(images.copy(), labels.copy(), rng, alpha=params["alpha"], num_classes=K)
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(f"{params['method']} must return (mixed_imgs, mixed_labels)")
        imgs, labs = np.asarray(result[0]), np.asarray(result[1])
        if labs.shape != (N, K):
            raise ValueError(f"{params['method']} returned labels of shape {labs.shape}, expected (N, num_classes) = "
                             f"{(N, K)}: one mixed label per image (return the stacked mixed_labels, not the last "
                             f"mixed_label)")  # fmt: skip
        if imgs.shape != images.shape:
            raise ValueError(f"{params['method']} returned images of shape {imgs.shape}, expected {images.shape}")
        mixed_imgs.append(imgs)
        mixed_labels.append(labs)
    return {"mixed_imgs": np.stack(mixed_imgs), "mixed_labels": np.stack(mixed_labels).astype(np.float64)}


def softmax(inputs, params):
    from intro2ai.layers import softmax_loss

    loss, dx = softmax_loss(inputs["x"], inputs["y"])
    return {"loss": np.asarray(loss, dtype=np.float64), "dx": np.asarray(dx)}


def experiment(inputs, params):
    """The notebook's comparison: the given train_run with none / CutMix / Mixup on the same data."""
    from intro2ai.experiment import train_run

    X, y = inputs["X_train"], inputs["y_train"]
    stand_in = min(len(X), 500)  # held-out images never enter the sandbox
    data = {"X_train": X, "y_train": y, "X_val": X[:stand_in], "y_val": y[:stand_in]}
    model = dict(params["model"])
    model["input_dim"] = tuple(model["input_dim"])
    outputs = {}
    for method in ("none", "cutmix", "mixup"):
        solver = train_run(data, method, params["seed"], num_epochs=params["num_epochs"], batch_size=params["batch_size"],
                           learning_rate=params["learning_rate"], alpha=params["alpha"], model_kwargs=model)  # fmt: skip
        outputs.update({f"{method}_{name}": np.asarray(value) for name, value in solver.model.params.items()})
        outputs[f"{method}_loss_history"] = np.asarray(solver.loss_history, dtype=np.float64)
    return outputs
