"""Why a training item failed: one line per failure kind, read from the loss history the sandbox
returns, shown in the JSON result, the terminal table and the feedback page next to the curve."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from grading_helpers import make_zip
from results_factory import make_result
from training_networks import UNSTABLE_SOFTMAX, network_files

from autograder.assignment import Shown, load_assignment
from autograder.grading.result import Result
from autograder.grading.run import (
    GradingContext,
    RunOptions,
    case_verdict,
    expand_cases,
    grade_zip,
    prepare_case,
)
from autograder.reports.html import render_feedback
from autograder.reports.terminal import render_result
from autograder.sandbox.supervisor import CaseRecord

LOG10 = math.log(10)


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


def diagnose(hw5, losses, accuracies=(0.1, 0.4)):
    return hw5.checks().training_diagnosis(np.asarray(losses, dtype=np.float64), np.asarray(accuracies), 10)


def learning(n=100):
    return LOG10 * np.exp(-np.arange(n) / 80)


def test_a_learning_run_gets_no_diagnosis(hw5):
    assert diagnose(hw5, learning()) == ""
    assert diagnose(hw5, []) == ""


@pytest.mark.parametrize("bad, kind", [(np.nan, "NaN"), (np.inf, "inf")])
def test_nan_or_inf_loss_names_the_iteration_and_the_max_subtraction_trick(hw5, bad, kind):
    losses = learning()
    losses[41:] = bad
    message = diagnose(hw5, losses)
    assert message.startswith(f"the loss became {kind} at iteration 42 of 100")
    assert "softmax_loss" in message and "max-subtraction trick" in message


def test_a_growing_loss_is_called_divergence(hw5):
    message = diagnose(hw5, LOG10 + np.linspace(0, 30, 100))
    assert message.startswith("the loss grew from 3.67 to 30.94 in 100 iterations") and "uphill" in message


def test_a_loss_that_never_left_log10(hw5):
    losses = LOG10 + 0.001 * np.sin(np.arange(100))
    message = diagnose(hw5, losses, accuracies=(0.1, 0.1))
    assert message.startswith("the loss stayed at log(10) = 2.30 for all 100 iterations")
    assert "gradients" in message


def test_accuracy_stuck_at_chance_while_the_loss_moves(hw5):
    message = diagnose(hw5, np.linspace(LOG10, 2.0, 100), accuracies=(0.1, 0.11, 0.09))
    assert message.startswith("the training accuracy stayed at chance (0.10) while the loss went from 2.")
    assert diagnose(hw5, np.linspace(LOG10, 2.0, 100), accuracies=(0.1, 0.3)) == ""


def test_each_kind_has_its_own_line(hw5):
    nan = learning()
    nan[5] = np.nan
    messages = {diagnose(hw5, nan).split(":")[0], diagnose(hw5, LOG10 + np.linspace(0, 30, 100)).split(":")[0],
                diagnose(hw5, np.full(50, LOG10), (0.1,)).split(":")[0],
                diagnose(hw5, np.linspace(LOG10, 2.0, 100), (0.1,)).split(":")[0]}  # fmt: skip
    assert len(messages) == 4 and all(messages)


def test_overflowing_scores_end_to_end(tmp_path, hw5):
    """Unstable softmax with output weights 1000x too large: the loss breaks at once, diagnosed everywhere."""
    files = network_files(hw5, "unstable softmax (no max subtraction)")
    cnn = "intro2ai/classifiers/cnn.py"
    files[cnn] = files[cnn].replace('self.params["W3"] = weight_scale * np.random.randn(',
                                    'self.params["W3"] = 1e3 * np.random.randn(', 1)  # fmt: skip
    assert UNSTABLE_SOFTMAX[1] in files["intro2ai/layers.py"]
    options = RunOptions(seed=3, only=("Q5",), skip_groups=("Q5", "gradcheck", "train"), max_blas_threads=1,
                           run_notebook=False)  # fmt: skip
    strict = dataclasses.replace(hw5, data=hw5.data.with_target("overfit_accuracy", 0.6))
    result = grade_zip(make_zip(tmp_path / "submit.zip", files), strict, options).to_json()
    (case,) = result["questions"][0]["cases"]
    assert not case["passed"] and case["status"] == "failed"
    assert re.match(r"the loss became (NaN|inf) at iteration \d+ of 30: ", case["message"]), case["message"]
    assert case["extras"]["diagnosis"] in case["message"] and "max-subtraction" in case["message"]
    assert "max-subtraction trick" in render_result(Result.from_json(result), colour=False)
    assert "max-subtraction trick" in render_feedback(Result.from_json(result), Shown(hidden_inputs=False, stdout=False))


def test_terminal_and_page_show_a_failed_case_diagnosis_in_full():
    doc = make_result("s2", passed={"Q5": 0})
    case = next(c for q in doc["questions"] if q["id"] == "Q5" for c in q["cases"] if c["extras"])
    line = "the loss stayed at log(10) = 2.30 for all 60 iterations: the weights never learned; check the gradients"
    case["extras"]["diagnosis"] = line
    assert f"Q5 {case['name']}: {line}" in render_result(Result.from_json(doc), colour=False)
    html = render_feedback(Result.from_json(doc), Shown(hidden_inputs=False, stdout=False), load_assignment("hw5_cnn").curves)
    assert f'<span class="diagnosis">{line}</span>' in html and html.index("<polyline") < html.index(line)


def test_nan_weights_reach_the_training_judge_and_are_explained(hw5):
    """Other judges never see NaN (validation refuses it); a training judge explains it instead."""
    question = hw5.question("Q5")
    case = next(c for c in expand_cases(question, 4, GradingContext(hw5, 1, "embedded")) if c.judge == "overfit")
    context = GradingContext(hw5, 1, "embedded")
    prepared = prepare_case(case, 4, 0, context, hw5.checks())
    trained = {name: value.copy() for name, value in prepared[1].items()}
    trained["W1"][0, 0, 0, 0] = np.nan
    losses = learning(30)
    losses[12:] = np.nan
    arrays = {**trained, "loss_history": losses, "train_acc_history": np.array([0.1, 0.1])}
    limits = hw5.limits.with_overrides(**case.limits)
    result = case_verdict(case, CaseRecord(case.name, "ok", arrays), prepared, context, hw5.checks(), limits)
    assert result.status == "failed" and result.message.startswith("the loss became NaN at iteration 13 of 30")
    arrays["loss_history"] = learning(30)
    result = case_verdict(case, CaseRecord(case.name, "ok", arrays), prepared, context, hw5.checks(), limits)
    assert result.message.startswith("the trained W1 hold NaN or inf values though the loss stayed finite")
    net_loss = next(c for c in question.cases if c.judge == "net_loss")
    net_prepared = prepare_case(net_loss, 4, 2, context, hw5.checks())
    nan_loss = {"loss": np.array(np.nan)}
    result = case_verdict(net_loss, CaseRecord(net_loss.name, "ok", nan_loss), net_prepared, context, hw5.checks(), limits)
    assert result.message == "loss: contains NaN values"
