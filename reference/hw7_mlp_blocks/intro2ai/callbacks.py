"""HW7 callbacks and whole-model saving: the seed's Keras callbacks for the numpy Solver.

ModelCheckpoint, LearningRateScheduler, EarlyStopping and CSVLogger hook into solver.Solver's
epoch loop (see solver.py for when each hook runs and what `logs` holds). save_model /
load_model store a whole model as two files, never a pickle: <path>.npz (the parameters, read
back with allow_pickle=False) and <path>.json (the class name and its constructor's arguments).
"""

import importlib
import json

import numpy as np

from .solver import Callback

MODEL_MODULES = (".classifiers.linear", ".classifiers.fc_net")  # where load_model looks for classes


def monitor_mode(monitor):
    """'min' for a monitored loss ('loss', 'val_loss'), 'max' for an accuracy ('val_acc')."""
    return "min" if "loss" in monitor else "max"


def save_weights(model, filepath):
    """Writes model.params to filepath (an .npz file; np.savez adds .npz when missing)."""
    np.savez(filepath, **model.params)


class ModelCheckpoint(Callback):
    """Saves the model's parameters to `filepath` (.npz) at the end of an epoch.

    filepath may hold "{epoch}", filled with the 1-based epoch number (Keras's ckpt_{epoch}).
    save_best_only=True (the default) saves only when logs[monitor] improved on the best value
    seen so far (strictly: lower for a loss, higher for an accuracy; the first epoch always
    saves); save_best_only=False saves every epoch. self.best holds the best value.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=True):
        self.filepath, self.monitor, self.save_best_only = filepath, monitor, save_best_only
        self.best = None

    def on_epoch_end(self, epoch, logs, solver):
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        current = logs[self.monitor]
        better = self.best is None or (current < self.best if monitor_mode(self.monitor) == "min" else current > self.best)
        if better:
            self.best = current
        if better or not self.save_best_only:
            save_weights(solver.model, self.filepath.format(epoch=epoch + 1))

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****


class LearningRateScheduler(Callback):
    """At the start of every epoch, sets the learning rate to schedule(epoch) (epoch from 0),
    for every parameter: use solver.set_learning_rate(lr)."""

    def __init__(self, schedule):
        self.schedule = schedule

    def on_epoch_begin(self, epoch, solver):
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        solver.set_learning_rate(float(self.schedule(epoch)))

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****


class EarlyStopping(Callback):
    """Stops training when logs[monitor] has not improved for `patience` epochs in a row (Keras).

    An epoch improves when its value beats the best so far by more than min_delta (lower for a
    loss, higher for an accuracy); the first epoch always does. After `patience` epochs without
    improvement training stops at the end of that epoch (patience=0: the first epoch that does not
    improve). self.stopped_epoch is the epoch it stopped at (None if it never did). With
    restore_best=True the model gets back (copies of) the parameters of its best epoch when it stops.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, restore_best=False):
        self.monitor, self.patience, self.min_delta, self.restore_best = monitor, patience, min_delta, restore_best
        self.best, self.wait, self.stopped_epoch, self.best_params = None, 0, None, None

    def on_train_begin(self, solver):
        self.best, self.wait, self.stopped_epoch, self.best_params = None, 0, None, None

    def on_epoch_end(self, epoch, logs, solver):
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        current = logs[self.monitor]
        if monitor_mode(self.monitor) == "min":
            improved = self.best is None or current < self.best - self.min_delta
        else:
            improved = self.best is None or current > self.best + self.min_delta
        if improved:
            self.best, self.wait = current, 0
            self.best_params = {k: v.copy() for k, v in solver.model.params.items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            solver.stop_training = True
            if self.restore_best and self.best_params is not None:
                solver.model.params = {k: v.copy() for k, v in self.best_params.items()}

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****


class CSVLogger(Callback):
    """Writes one CSV row per epoch to `filename` (Keras's CSVLogger).

    The file is created anew when training begins. The first line is the header: "epoch", then
    the other keys of logs in sorted order; every epoch adds a row of the same columns. Numbers
    are written with repr() (no precision lost), separated by `separator`.
    """

    def __init__(self, filename, separator=","):
        self.filename, self.separator = filename, separator
        self.keys = None

    def on_train_begin(self, solver):
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        open(self.filename, "w").close()
        self.keys = None

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    def on_epoch_end(self, epoch, logs, solver):
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        with open(self.filename, "a") as f:
            if self.keys is None:
                self.keys = ["epoch"] + sorted(k for k in logs if k != "epoch")
                f.write(self.separator.join(self.keys) + "\n")
            f.write(self.separator.join(repr(logs[k]) for k in self.keys) + "\n")

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****


def model_class(name):
    """The model class called `name` in one of MODEL_MODULES (given)."""
    for module in MODEL_MODULES:
        found = getattr(importlib.import_module(module, __package__), name, None)
        if found is not None:
            return found
    raise ValueError(f"no model class {name!r} in intro2ai.classifiers")


def save_model(model, path):
    """Saves a whole model: <path>.npz with model.params and <path>.json with
    {"class": the class's name, "config": model.config} (the constructor's arguments)."""
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    np.savez(f"{path}.npz", **model.params)
    with open(f"{path}.json", "w") as f:
        json.dump({"class": type(model).__name__, "config": model.config}, f)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****


def load_model(path):
    """The model save_model(model, path) saved: built from its class and config (model_class),
    its params replaced by the saved ones (np.load with allow_pickle=False)."""
    model = None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    with open(f"{path}.json") as f:
        spec = json.load(f)
    model = model_class(spec["class"])(**spec["config"])
    with np.load(f"{path}.npz", allow_pickle=False) as saved:
        model.params = {name: saved[name] for name in saved.files}

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return model
