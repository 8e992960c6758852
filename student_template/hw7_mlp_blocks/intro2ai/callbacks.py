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
        raise NotImplementedError("ModelCheckpoint.on_epoch_end: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/callbacks.py")
        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****


class LearningRateScheduler(Callback):
    """At the start of every epoch, sets the learning rate to schedule(epoch) (epoch from 0),
    for every parameter: use solver.set_learning_rate(lr)."""

    def __init__(self, schedule):
        self.schedule = schedule

    def on_epoch_begin(self, epoch, solver):
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        raise NotImplementedError("LearningRateScheduler.on_epoch_begin: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/callbacks.py")
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
        raise NotImplementedError("EarlyStopping.on_epoch_end: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/callbacks.py")
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
        raise NotImplementedError("CSVLogger.on_train_begin: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/callbacks.py")
        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    def on_epoch_end(self, epoch, logs, solver):
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        raise NotImplementedError("CSVLogger.on_epoch_end: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/callbacks.py")
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
    raise NotImplementedError("save_model: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/callbacks.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****


def load_model(path):
    """The model save_model(model, path) saved: built from its class and config (model_class),
    its params replaced by the saved ones (np.load with allow_pickle=False)."""
    model = None
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("load_model: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/callbacks.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    return model
