"""Tiny course parent-side checks: probe inputs, the reference's outputs and one custom judge.

Trusted code, run only in the grader's process. `import tinyops` reaches the course's reference
package (the engine's own_package); the sandbox never sees this file.
"""

from __future__ import annotations

import numpy as np
from tinyops import ops

from autograder.grading.judge import Verdict, judge_rel_error


def sum_inputs(params, rng, context):
    return {"x": rng.standard_normal(params["shape"])}


def expect_scaled_sum(inputs, params, context):
    return {"out": np.asarray(ops.scaled_sum(inputs["x"], params["axis"], params["scale"]))}


def score_inputs(params, rng, context):
    return {"x": params["magnitude"] * rng.standard_normal((params["rows"], params["classes"]))}


def expect_softmax(inputs, params, context):
    return {"probs": ops.softmax(inputs["x"])}


def probabilities(outputs, expected, case, context):
    """Rows must sum to one (the likely bug named first), then match the reference."""
    sums = outputs["probs"].sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-9):
        worst = float(np.max(np.abs(sums - 1.0)))
        return Verdict(False, "row sum error", worst, 1e-9, "rows do not sum to 1: divide by the row's sum of exps")
    return judge_rel_error(outputs, expected, case.threshold)


def softmax_hidden(rng, count):
    return [{"params": {"rows": int(rng.integers(2, 6)), "classes": int(rng.integers(2, 7)),
                        "magnitude": float(rng.choice([1.0, 50.0]))}} for _ in range(count)]  # fmt: skip
