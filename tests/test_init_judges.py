"""Initialisation judges: a correct random init passes whatever its draw; a wrong scale fails.

The judges compare each weight's sample std with weight_scale. On a small weight (70 draws) a
fixed 25 % band failed one correct init in 230; the band is now five standard errors of the
sample std for its size (autograder.grading.judge.std_tolerance). Every `net_init` case of every
homework is judged here on many fresh draws of the reference's own initialisation.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.assignment import load_assignment
from autograder.grading.judge import std_tolerance
from autograder.grading.run import GradingContext

TRIALS_SMALL = 1500  # draws for a case whose smallest weight has < 1,000 entries
TRIALS_LARGE = 3


def _init_cases():
    for assignment_id in ("hw5_cnn", "hw6_deep_cnn", "hw7_mlp_blocks"):
        assignment = load_assignment(assignment_id)
        for question in assignment.questions:
            for case in question.cases:
                if case.judge == "net_init":
                    yield pytest.param(assignment, case, id=f"{assignment_id}:{case.name}")


def _draw(checks, case, inputs, context, seed: int) -> dict:
    """The reference's own initialisation under another random state (global or declared seed)."""
    np.random.seed(seed)
    return checks.expect_net_init(inputs, {**case.params, "seed": seed}, context)


def test_std_tolerance_is_five_standard_errors_for_small_arrays():
    assert std_tolerance(10_000) == 0.25
    assert std_tolerance(70) == pytest.approx(5 / np.sqrt(140))


@pytest.mark.parametrize("assignment, case", _init_cases())
def test_correct_random_inits_always_pass_and_a_forgotten_scale_fails(assignment, case):
    checks = assignment.checks()
    context = GradingContext(assignment, 1, None)
    inputs = getattr(checks, case.probe)(case.params, np.random.default_rng(0), context)
    expected = checks.expect_net_init(inputs, case.params, context)
    weights = [k for k in expected if k.split("_")[-1].startswith("W")]
    smallest = min(expected[k].size for k in weights)
    trials = TRIALS_SMALL if smallest < 1000 else TRIALS_LARGE
    failures = []
    for seed in range(1, trials + 1):
        verdict = getattr(checks, case.judge)(_draw(checks, case, inputs, context, seed), expected, case, context)
        if not verdict.passed:
            failures.append((seed, verdict.message))
    assert not failures, f"{len(failures)} of {trials} correct inits failed, e.g. {failures[:3]}"

    unscaled = _draw(checks, case, inputs, context, trials + 1)
    for k in weights:
        unscaled[k] = np.random.default_rng(7).standard_normal(expected[k].shape).astype(expected[k].dtype)
    verdict = getattr(checks, case.judge)(unscaled, expected, case, context)
    assert not verdict.passed, "weights drawn without weight_scale passed"
