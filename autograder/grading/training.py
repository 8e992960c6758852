"""Grading step: the parent's side of a homework's networks: the reference model a case declares,
and training experiments (a question whose task trains one or more networks in the sandbox and
returns, per run, the trained arrays and a loss history).

Engine-generic: a homework passes its own data loader and builds its own reference models; this
module only loads the data once per run of the grader, splits the returned arrays by run, rejects
the runs that broke (NaN/inf) with a message naming where, and measures a model the homework
built. What a run must reach (a loss, an accuracy, a comparison between runs) stays in the
homework's judge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

CURVE_POINTS = 2000  # loss-history entries a result keeps for its plot
PREDICT_BATCH = 250  # images per forward pass when measuring accuracy (bounds the parent's memory)


def constructor_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A case's declared model arguments as the course's network constructors take them: JSON and
    TOML have no tuples and no numpy types, so an `input_dim` list becomes a tuple and a `dtype`
    name ("float64") the numpy type; everything else is passed as declared (an int input_dim too)."""
    kwargs = dict(kwargs)
    if "dtype" in kwargs:
        kwargs["dtype"] = np.dtype(kwargs["dtype"]).type
    if isinstance(kwargs.get("input_dim"), list | tuple):
        kwargs["input_dim"] = tuple(kwargs["input_dim"])
    return kwargs


class TrainingData:
    """A homework's training set for its probes and judges, loaded once per (source, size): the
    probe and the judge of a case read the same arrays, and several cases share one load.

    `load(source, num_training)` returns the homework's data dict (X_train, y_train, X_val, ...);
    `describe(source)` names the data set, the label that keys a case's `targets`.
    """

    def __init__(self, load: Callable[[str, int], dict[str, np.ndarray]], describe: Callable[[str], str]) -> None:
        self.load = lru_cache(maxsize=2)(load)
        self._describe = describe

    def get(self, context: Any, num_training: int) -> dict[str, np.ndarray]:
        return self.load(context.data_source, num_training)

    def describe_data(self, context: Any) -> str:
        """The checks' `describe_data` (the engine reads the data set's name from it)."""
        return self._describe(context.data_source)

    def train_inputs(self, params: dict, rng: np.random.Generator, context: Any) -> dict[str, np.ndarray]:
        """A probe: the training images of a set loaded at the case's `num_train`."""
        data = self.get(context, params["num_train"])
        return {"X_train": data["X_train"], "y_train": data["y_train"]}


@dataclass(frozen=True)
class Run:
    """One finished run of an experiment: its loss history and its other arrays, the run's name
    prefix (`<run>_`) removed, all finite."""

    name: str
    losses: np.ndarray
    trained: dict[str, np.ndarray]

    def curve(self) -> list[float]:
        return [float(v) for v in self.losses[:CURVE_POINTS]]


def run_arrays(outputs: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """The arrays a run trained (all `<name>_*` outputs but its loss history), the prefix removed."""
    return {key[len(name) + 1 :]: v for key, v in outputs.items()
            if key.startswith(name + "_") and not key.endswith("loss_history")}  # fmt: skip


def finished_run(outputs: dict[str, np.ndarray], name: str, what: str) -> Run | str:
    """The run `name` if its loss history and trained arrays are all finite, else the problem to
    report: the first iteration whose loss broke, or that its trained `what` hold NaN or inf."""
    losses = outputs[f"{name}_loss_history"]
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        return f"{name}: the loss became {losses[bad[0]]} at iteration {bad[0] + 1}"
    trained = run_arrays(outputs, name)
    if not all(np.all(np.isfinite(v)) for v in trained.values()):
        return f"{name}: the trained {what} hold NaN or inf"
    return Run(name, losses, trained)


def accuracy(model: Any, X: np.ndarray, y: np.ndarray, batch: int = PREDICT_BATCH) -> float:
    """The fraction of `y` a model predicts, `model.loss(X)` giving class scores (the course's
    convention: a loss without labels is a test-mode forward pass)."""
    predictions = np.concatenate([np.argmax(model.loss(X[i : i + batch]), axis=1) for i in range(0, len(X), batch)])
    return float(np.mean(predictions == y))
