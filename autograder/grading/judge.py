"""Grading step: verdicts: validates what the sandbox returned and measures it against the reference outputs.

Runs in the parent only, on arrays that were loaded with `allow_pickle=False`. Nothing reaches
a judge until `validate` has checked exact type, dtype kind, shape and finiteness, so a judge
only ever compares plain finite arrays with plain finite arrays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.grading.intake import printable


@dataclass(frozen=True)
class Verdict:
    passed: bool
    metric: str
    value: float | None
    threshold: float | None
    message: str = ""
    extras: dict[str, Any] | None = None


class Invalid(Exception):
    """An output failed validation; the message says what was expected and what came back."""


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """The seed notebook's definition: max |x - y| / max(1e-8, |x| + |y|)."""
    x64, y64 = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x64.size == 0:
        return 0.0
    return float(np.max(np.abs(x64 - y64) / np.maximum(1e-8, np.abs(x64) + np.abs(y64))))


STD_ERRORS = 6.0  # standard errors of a sample std a correct init may stray (see std_tolerance)


def std_tolerance(size: int) -> float:
    """How far the sample std of `size` Gaussian draws may stray from sigma, relatively, before an
    initialisation is judged wrong: 25 %, or six standard errors (1 / sqrt(2 size)) for small arrays.

    Six, not five: a case judges every weight of a network and fails on the worst, so the budget
    is per case, and the sample std of a small array is skewed (n s^2 / sigma^2 is chi-square with
    n - 1 degrees of freedom), its upper tail heavier than the normal one. Exactly, five standard
    errors fail a correct 20-81-entry weight with p = 6.5e-7 to 8.5e-7, and HW5's small-network and
    HW6's residual cases (two and seven such weights) with p = 1.3e-6 and 1.4e-6; six fail one
    weight of any size >= 20 with p <= 9.2e-9 (the FALSE_FAILURE of HW7's and HW8's statistical
    judges), a case with p <= 1e-7. A fixed 25 % failed a correct 70-entry weight once in 230 draws.
    Wrong inits miss by far more: a forgotten scale by 100x, uniform draws by 71 % (caught from 36
    entries on; every case has larger weights)."""
    return max(0.25, STD_ERRORS / math.sqrt(2 * size))


MIN_STD_SIZE = 20  # entries below which a weight's sample std is not judged (std_tolerance's bound holds from 20)


def judge_weight_std(weights: dict[str, np.ndarray], scale: float, extras: dict[str, Any] | None = None) -> Verdict:
    """Whether every weight was drawn at std `scale`: each sample std's relative deviation from
    `scale` over its `std_tolerance`, the worst reported (metric "weight std deviation / tolerance",
    threshold 1). One place for every homework's init judge, so the false-failure budget argued in
    `std_tolerance` covers them all; the caller picks which of its parameters are weights.

    Weights under MIN_STD_SIZE entries are skipped: below that the skewed law of a small sample's
    std lets a correct init fail too often, and a handful of draws says little about the scale.
    """
    judged = {name: w for name, w in weights.items() if w.size >= MIN_STD_SIZE}
    if not judged:
        return Verdict(True, "weight std deviation / tolerance", 0.0, 1.0, "", extras)
    deviations = {name: abs(float(np.std(w)) / scale - 1.0) for name, w in judged.items()}
    ratios = {name: deviation / std_tolerance(judged[name].size) for name, deviation in deviations.items()}
    worst = max(ratios, key=ratios.get)
    passed = ratios[worst] <= 1.0
    message = "" if passed else f"{worst}: weight std is off by {deviations[worst]:.0%} from weight_scale={scale:g}"
    return Verdict(passed, "weight std deviation / tolerance", ratios[worst], 1.0, message, extras)


def validate(outputs: dict[str, np.ndarray], expected: dict[str, np.ndarray], finite: bool = True) -> None:
    """Raises `Invalid` unless every expected output is a finite ndarray of the right kind and shape.

    `finite=False` lets NaN/inf through for a judge that explains them itself (see
    `accepts_nonfinite`): a training judge can say at which iteration the loss broke.
    """
    for name, reference in expected.items():
        if name not in outputs:
            raise Invalid(f"{name}: no output returned")
        got = outputs[name]
        if type(got) is not np.ndarray:
            raise Invalid(f"{name}: expected numpy.ndarray, got {type(got).__name__}")
        if _kind(got.dtype) != _kind(reference.dtype):
            raise Invalid(f"{name}: expected a {_kind(reference.dtype)} array, got dtype {got.dtype}")
        if got.shape != reference.shape:
            raise Invalid(f"{name}: wrong shape: expected {reference.shape}, got {got.shape}")
        if finite and got.dtype.kind == "f" and not np.all(np.isfinite(got)):
            bad = "NaN" if np.isnan(got).any() else "inf"
            raise Invalid(f"{name}: contains {bad} values")


def _kind(dtype: np.dtype) -> str:
    return {"f": "float", "i": "integer", "u": "integer", "b": "boolean"}.get(dtype.kind, str(dtype))


def judge_rel_error(outputs: dict, expected: dict, threshold: float) -> Verdict:
    """Worst rel_error over all outputs; the message names the output that was worst."""
    errors = {name: rel_error(outputs[name], ref) for name, ref in expected.items()}
    worst = max(errors, key=errors.get)
    value = errors[worst]
    passed = value <= threshold
    detail = ", ".join(f"{name} {err:.2e}" for name, err in errors.items())
    message = "" if passed else f"rel_error too large ({detail}); worst is {worst}"
    return Verdict(passed, "rel_error", value, threshold, message)


def accepts_nonfinite(judge: Callable[..., Verdict]) -> Callable[..., Verdict]:
    """Marks a judge that receives NaN/inf outputs and explains them (validation still checks the rest)."""
    judge.accepts_nonfinite = True  # type: ignore[attr-defined]
    return judge


BUILTIN_JUDGES: dict[str, Callable[..., Verdict]] = {
    "rel_error": lambda outputs, expected, case, context: judge_rel_error(outputs, expected, case.threshold),
}


SHAPE_MISMATCH = r"could not broadcast|operands could not be broadcast|cannot reshape array"
ERROR_MESSAGE_LIMIT = 1000  # characters of a child's exception message shown
_HINTS: tuple[tuple[str, str], ...] = (
    (r"module 'numpy' has no attribute '(int|float|bool|object|complex|str)'",
     "np.{0} was removed from NumPy 1.24: use the builtin {0} (or np.{0}64)."),
    (r"(slice indices must be integers|'float' object cannot be interpreted as an integer"
     r"|only integers, slices .* are valid indices)",
     "A size or index is a float: Python 3 '/' is true division; use '//' for integer sizes."),
    (SHAPE_MISMATCH, "Array shapes do not match{shape}"),
    (r"index \d+ is out of bounds", "An index ran past an array edge: check padding and stride loops."),
)  # fmt: skip


# A name the student's code uses that exists in none of the files the sandbox holds. The sandbox
# holds only the assignment's declared files (on top of the given package), so a helper module
# or a cs231n module this course does not ship is the usual cause.
_MISSING_NAME: tuple[tuple[str, str], ...] = (
    (r"name '(\w+)' is not defined", "'{0}' is defined neither in your submitted files nor in the given package"),
    (r"cannot import name '(\w+)' from '([\w.]+)'", "'{0}' is not in {1}, neither in your files nor in the given package"),
    (r"No module named '([\w.]+)'", "module '{0}' is neither one of your submitted files nor part of the given package"),
)  # fmt: skip


def explain_error(error: dict | None, collected: Sequence[str] = (), shape_hint: str = "") -> str:
    """One readable line for a child's exception, with a hint for the classic mistakes.

    `collected`: the file names the grader takes from a zip, named when the code used a name
    that none of them defines. Capped here as well as in the runner (a student can forge the
    error record itself), with control characters escaped: the line reaches TAs' terminals and
    exports. `shape_hint` is the assignment's `[hints] shape` (what to check when shapes differ).
    """
    if not error:
        return "the code failed without an error message"
    kind = printable(str(error.get("type", "Error")), 100)
    raw = next(iter(str(error.get("message", "")).strip().splitlines()), "")  # the first line says it
    message = printable(raw, ERROR_MESSAGE_LIMIT) if raw else ""
    if kind == "NotImplementedError":
        return "not implemented yet" + (f": {message}" if message else "")
    line = f"{kind}: {message}".strip().rstrip(":")
    for pattern, hint in _HINTS:
        match = re.search(pattern, message)
        if match:
            shape = f": {shape_hint}" if shape_hint else "."
            return f"{line} — {hint.format(*match.groups(), shape=shape)}"
    for pattern, hint in _MISSING_NAME:
        match = re.search(pattern, message)
        if match:
            files = f" ({', '.join(collected)})" if collected else ""
            return (f"{line} — {hint.format(*match.groups())}: only the declared files{files} are collected "
                    f"from your zip; define or import it in one of them.")  # fmt: skip
    return line


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN/inf: such measurements are reported as null."""
    return value if value is not None and math.isfinite(value) else None


def finite_extras(value: Any) -> Any:
    """A judge's extras (curves, accuracies) with every NaN/inf, at any depth, reported as null."""
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {key: finite_extras(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_extras(item) for item in value]
    return value
