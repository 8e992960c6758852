"""The HW8 experiment (given): HW5's network trained with no augmentation, CutMix or Mixup.

CutMix and Mixup mix images only within a batch, so they run after the batch is drawn (as the
seed's `apply_normalize_on_dataset` maps `cutmix` after `ds.batch`): `Augmented` wraps the model
so that the Solver's training batches pass through the augmentation, while accuracy checks
(which call `loss(X)` without labels) see the images untouched.
"""

import numpy as np

from .augment import cutmix, mixup
from .classifiers.cnn import ThreeLayerConvNet
from .solver import Solver

METHODS = ("none", "cutmix", "mixup")


class Augmented:
    """A model whose training batches are augmented first; the parameters are the model's own."""

    def __init__(self, model, augment):
        self.model = model
        self.augment = augment

    @property
    def params(self):
        return self.model.params

    @params.setter
    def params(self, value):  # the Solver swaps the best parameters in at the end
        self.model.params = value

    def loss(self, X, y=None):
        if y is None:
            return self.model.loss(X)
        X, y = self.augment(X, y)
        return self.model.loss(X, y)


def augmentation(method, rng, alpha=1.0, num_classes=10):
    """The batch function of a method: None for "none", else images, labels -> mixed ones."""
    if method == "none":
        return None
    functions = {"cutmix": cutmix, "mixup": mixup}
    if method not in functions:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    mix = functions[method]
    return lambda X, y: mix(X, y, rng, alpha=alpha, num_classes=num_classes)


def train_run(data, method, seed, *, num_epochs=3, batch_size=50, learning_rate=1e-3, alpha=1.0,
              model_kwargs=None, verbose=False):
    """Trains a fresh ThreeLayerConvNet with one method and returns its Solver.

    The weights and the batches come from np.random.seed(seed), the augmentation's draws from
    numpy.random.default_rng(seed): the three methods start from the same weights.
    """
    np.random.seed(seed)
    model = ThreeLayerConvNet(**(model_kwargs or {}))
    mix = augmentation(method, np.random.default_rng(seed), alpha, model.params["b3"].size)
    trained = model if mix is None else Augmented(model, mix)
    solver = Solver(trained, data, num_epochs=num_epochs, batch_size=batch_size, update_rule="adam",
                    optim_config={"learning_rate": learning_rate}, verbose=verbose,
                    print_every=max(1, len(data["X_train"]) // batch_size))
    solver.train()
    solver.model = model
    return solver
