"""HW7's Solver (given): HW5's Solver with Keras-style callbacks and per-epoch logs.

Training runs epoch by epoch. Each epoch the Solver calls, on every callback in order:
on_epoch_begin(epoch, solver) before the first update, then after the last update it computes
the epoch's logs and calls on_epoch_end(epoch, logs, solver); on_train_begin(solver) and
on_train_end(solver) frame the run. Epochs count from 0, as in Keras (the seed's decay(epoch)).
logs = {'epoch', 'loss' (mean training loss of the epoch), 'train_acc', 'val_acc', 'val_loss',
'lr' (the learning rate the epoch trained with)}. A callback stops training by setting
solver.stop_training = True; the Solver then ends after that epoch. Unlike HW5's Solver, the
model keeps its last parameters (restoring the best ones is EarlyStopping's job).
"""

import numpy as np

from . import hw5_solver
from .layers import softmax_loss


class Callback:
    """Base class of the callbacks: every hook does nothing unless a subclass overrides it."""

    def on_train_begin(self, solver):
        pass

    def on_epoch_begin(self, epoch, solver):
        pass

    def on_epoch_end(self, epoch, logs, solver):
        pass

    def on_train_end(self, solver):
        pass


class Solver(hw5_solver.Solver):
    """Solver(model, data, callbacks=[...], **HW5's options). history holds every epoch's logs."""

    def __init__(self, model, data, *, callbacks=(), **kwargs):
        self.callbacks = list(callbacks)
        super().__init__(model, data, **kwargs)

    def _reset(self):
        super()._reset()
        self.stop_training = False
        self.history = []

    @property
    def learning_rate(self):
        return self.optim_config.get("learning_rate")

    def set_learning_rate(self, lr):
        """Sets the learning rate of every parameter's update rule (and of the shared config)."""
        self.optim_config["learning_rate"] = lr
        for config in self.optim_configs.values():
            config["learning_rate"] = lr

    def _current_lr(self):
        """The learning rate the update rules will use (what a scheduler must have set)."""
        return next(iter(self.optim_configs.values()))["learning_rate"] if self.optim_configs else self.learning_rate

    def validation_loss(self, batch_size=100):
        """Mean softmax loss on the validation set, in test mode (no dropout)."""
        total = 0.0
        for start in range(0, len(self.X_val), batch_size):
            scores = self.model.loss(self.X_val[start : start + batch_size])
            total += softmax_loss(scores, self.y_val[start : start + batch_size])[0] * len(scores)
        return total / len(self.X_val)

    def _epoch_logs(self, epoch, lr, losses):
        return {
            "epoch": epoch,
            "loss": float(np.mean(losses)),
            "train_acc": self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples),
            "val_acc": self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples),
            "val_loss": float(self.validation_loss()),
            "lr": float(lr),
        }

    def train(self):
        """Runs up to num_epochs epochs, calling the callbacks; returns self.history."""
        iterations = max(self.X_train.shape[0] // self.batch_size, 1)
        self.set_learning_rate(self.optim_config.get("learning_rate", 1e-2))
        for callback in self.callbacks:
            callback.on_train_begin(self)
        for epoch in range(self.num_epochs):
            for callback in self.callbacks:
                callback.on_epoch_begin(epoch, self)
            lr = self._current_lr()
            start = len(self.loss_history)
            for _ in range(iterations):
                self._step()
            self.epoch = epoch + 1
            logs = self._epoch_logs(epoch, lr, self.loss_history[start:])
            self.train_acc_history.append(logs["train_acc"])
            self.val_acc_history.append(logs["val_acc"])
            self.history.append(logs)
            if self.verbose:
                print(f"(Epoch {epoch + 1} / {self.num_epochs}) loss: {logs['loss']:.4f}; train acc: "
                      f"{logs['train_acc']:.4f}; val_acc: {logs['val_acc']:.4f}; val_loss: {logs['val_loss']:.4f}; lr: {lr:g}")
            for callback in self.callbacks:
                callback.on_epoch_end(epoch, logs, self)
            self.set_learning_rate(self._current_lr() * self.lr_decay)
            if self.stop_training:
                break
        for callback in self.callbacks:
            callback.on_train_end(self)
        return self.history
