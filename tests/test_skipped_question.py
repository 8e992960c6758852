"""A question whose every case sits in a skipped group is left out of the result, not a grader fault."""

from __future__ import annotations

import dataclasses

from grading_helpers import make_zip, reference_files

from autograder.assignment import load_assignment
from autograder.grading.run import RunOptions, grade_zip


def test_a_question_with_only_skipped_cases_is_left_out(tmp_path):
    hw5 = load_assignment("hw5_cnn")
    q4 = hw5.question("Q4")
    only_training = dataclasses.replace(q4, cases=tuple(dataclasses.replace(c, group="train") for c in q4.cases),
                                        hidden=None)  # fmt: skip
    questions = tuple(only_training if q.id == "Q4" else q for q in hw5.questions)
    assignment = dataclasses.replace(hw5, questions=questions)
    zip_path = make_zip(tmp_path / "submit.zip", reference_files(hw5))
    options = RunOptions(seed=1, only=("Q3", "Q4"), skip_groups=("train",), parallel=2, max_blas_threads=1)
    result = grade_zip(zip_path, assignment, options).to_json()
    assert result["status"] == "graded", result.get("fault")
    assert [q["id"] for q in result["questions"]] == ["Q3"]
    assert result["questions"][0]["status"] == "passed"
