"""HW5 graded now as recorded in tests/golden_hw5.json (same seed, same zips): a change to the engine
may move code around but must not change one score, status, message or measured value."""

from __future__ import annotations

import json

import pytest
from golden_hw5 import GOLDEN, grade_all


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_all(tmp_path_factory.mktemp("golden"))


@pytest.fixture(scope="module")
def golden():
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_the_record_spans_full_marks_zero_and_partial_credit(golden):
    scores = {name: result["score"] for name, result in golden.items()}
    assert scores["reference"] == golden["reference"]["max_score"] - 20  # the training groups are left out
    assert scores["template"] == 0
    assert all(0 < score < scores["reference"] for name, score in scores.items() if name not in ("reference", "template"))


def test_every_submission_grades_as_recorded(graded, golden):
    assert sorted(graded) == sorted(golden)
    for name in golden:
        assert graded[name] == golden[name], name
