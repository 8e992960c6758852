"""Grading step: scores: verdicts become points, per-question statuses and the result document (schema 2, `result.py`).

Points are earned per case. A question's status summarises its cases in the words a TA reads:
passed, partial, failed, error, timeout, memory, not_implemented, ungradable. The whole result is
`graded` (any score), `ungradable` (the zip's fault, with a one-line fix) or `error` (the grader's
fault: no score, never recorded as a grade, so the next run grades it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from autograder.assignment import Assignment, Case, Question
from autograder.grading.judge import finite_or_none
from autograder.grading.result import (
    FAULT,
    CaseOutcome,
    CaseTime,
    Files,
    ManualResult,
    QuestionResult,
    Result,
    SandboxSummary,
)

SEVERITY = ("not_implemented", "timeout", "memory", "error", "failed")


@dataclass
class CaseResult:
    case: Case
    passed: bool
    status: str  # passed | failed | error | timeout | memory | not_implemented | ungradable
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    message: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    timing: CaseTime | None = None

    def outcome(self) -> CaseOutcome:
        return CaseOutcome(
            name=self.case.name, hidden=self.case.hidden, passed=self.passed, status=self.status,
            metric=self.metric, value=finite_or_none(self.value), threshold=self.threshold,
            points=self.case.points if self.passed else 0.0, max_points=self.case.points,
            params=self.case.params, message=self.message, extras=self.extras, time=self.timing,
        )  # fmt: skip


def split_points(question: Question, cases: list[Case]) -> list[Case]:
    """Cases without explicit points share what the explicit ones leave of the question's points."""
    explicit = sum(c.points for c in cases if c.points >= 0)
    shared = [c for c in cases if c.points < 0]
    each = max(question.points - explicit, 0.0) / len(shared) if shared else 0.0
    return [c if c.points >= 0 else _with_points(c, each) for c in cases]


def _with_points(case: Case, points: float) -> Case:
    return replace(case, points=points)


def question_result(question: Question, results: list[CaseResult], seconds: float, stdout: str) -> QuestionResult:
    score = round(sum(r.case.points for r in results if r.passed), 6)
    status = question_status(results)
    return QuestionResult(question.id, question.title, score, question.points, status,
                          _question_message(results, status), round(seconds, 3), stdout,
                          [r.outcome() for r in results])  # fmt: skip


def question_status(results: list[CaseResult]) -> str:
    if results and all(r.passed for r in results):
        return "passed"
    if any(r.passed for r in results):
        return "partial"
    statuses = {r.status for r in results}
    if statuses == {"ungradable"}:
        return "ungradable"
    for status in SEVERITY:
        if status in statuses:
            return status
    return "failed"


def _question_message(results: list[CaseResult], status: str) -> str:
    if status == "passed":
        return ""
    failing = [r for r in results if not r.passed]
    first = failing[0]
    more = f" (+{len(failing) - 1} more failing case{'s' if len(failing) > 2 else ''})" if len(failing) > 1 else ""
    return f"{first.case.name}: {first.message}{more}" if first.message else f"{first.case.name} failed{more}"


def ungradable_question(question: Question, cases: list[Case], why: str) -> QuestionResult:
    results = [CaseResult(c, False, "ungradable", message=why) for c in cases]
    return replace(question_result(question, results, 0.0, ""), message=why)


def result_document(
    assignment: Assignment, *, submission: str, sha256: str, student: str | None, status: str, message: str,
    seed: int | None, data: str | None, sandbox: SandboxSummary, started_at: str, duration_s: float, files: Files,
    questions: list[QuestionResult],
) -> Result:  # fmt: skip
    """The one result every report, export and gradebook row is made from.

    A grader fault (status `error`) has no score at all, so that nothing downstream can show it as a 0.
    """
    score = None if status == FAULT else round(sum(q.score for q in questions), 6)
    return Result(
        assignment=assignment.id, assignment_version=assignment.version, submission=submission, sha256=sha256,
        student=student, status=status, message=message, score=score, max_score=assignment.max_score, seed=seed,
        data=data, sandbox=sandbox, started_at=started_at, duration_s=round(duration_s, 3), files=files,
        questions=questions, manual=[ManualResult(m.id, m.title, m.points) for m in assignment.manual],
    )  # fmt: skip
