"""Grading step: scores: verdicts become points, per-question statuses and the result document (schema 1).

Points are earned per case. A question's status summarises its cases in the words a TA reads:
passed, partial, failed, error, timeout, memory, not_implemented, ungradable. The whole result is
`graded` (any score), `ungradable` (the zip's fault, with a one-line fix) or `error` (the grader's
fault: no score, never recorded as a grade, so the next run grades it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from autograder.assignment import Assignment, Case, Question
from autograder.grading.judge import finite_or_none

SCHEMA_VERSION = 1
FAULT = "error"  # result status: the grader failed, the submission is not graded
SEVERITY = ("not_implemented", "timeout", "memory", "error", "failed")


@dataclass(frozen=True)
class CaseTiming:
    """What a case's run used and was allowed, measured outside the sandbox (seconds).

    `cpu_limit_s` is None when only the wall clock limited the case (fixed limits without a CPU
    figure); `wall_limit_s` stops a case that waits, `busy_wall_limit_s` (when set) one that
    still computes on an overloaded machine; `reference_cpu_s` is the reference's cost for the
    case's group on this machine.
    """

    cpu_s: float | None
    wall_s: float | None
    cpu_limit_s: float | None
    wall_limit_s: float
    busy_wall_limit_s: float | None = None
    reference_cpu_s: float | None = None


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
    timing: CaseTiming | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.case.name,
            "hidden": self.case.hidden,
            "passed": self.passed,
            "status": self.status,
            "metric": self.metric,
            "value": finite_or_none(self.value),
            "threshold": self.threshold,
            "points": self.case.points if self.passed else 0.0,
            "max_points": self.case.points,
            "params": self.case.params,
            "message": self.message,
            "extras": self.extras,
            "time": asdict(self.timing) if self.timing else None,
        }


def split_points(question: Question, cases: list[Case]) -> list[Case]:
    """Cases without explicit points share what the explicit ones leave of the question's points."""
    explicit = sum(c.points for c in cases if c.points >= 0)
    shared = [c for c in cases if c.points < 0]
    each = max(question.points - explicit, 0.0) / len(shared) if shared else 0.0
    return [c if c.points >= 0 else _with_points(c, each) for c in cases]


def _with_points(case: Case, points: float) -> Case:
    return replace(case, points=points)


def question_result(question: Question, results: list[CaseResult], seconds: float, stdout: str) -> dict[str, Any]:
    score = round(sum(r.case.points for r in results if r.passed), 6)
    status = question_status(results)
    return {
        "id": question.id,
        "title": question.title,
        "score": score,
        "max_score": question.points,
        "status": status,
        "message": _question_message(results, status),
        "duration_s": round(seconds, 3),
        "stdout": stdout,
        "cases": [r.to_dict() for r in results],
    }


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


def ungradable_question(question: Question, cases: list[Case], why: str) -> dict[str, Any]:
    results = [CaseResult(c, False, "ungradable", message=why) for c in cases]
    result = question_result(question, results, 0.0, "")
    result["message"] = why
    return result


def result_document(
    assignment: Assignment, *, submission: str, sha256: str, student: str | None, status: str, message: str,
    seed: int | None, data: str | None, sandbox: dict, started_at: str, duration_s: float, files: dict,
    questions: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    """The one result shape every report, export and gradebook row is made from.

    A grader fault (status `error`) has no score at all, so that nothing downstream can show it as a 0.
    """
    score = None if status == FAULT else round(sum(q["score"] for q in questions), 6)
    return {
        "schema": SCHEMA_VERSION,
        "assignment": assignment.id,
        "assignment_version": assignment.version,
        "submission": submission,
        "sha256": sha256,
        "student": student,
        "status": status,
        "message": message,
        "score": score,
        "max_score": assignment.max_score,
        "seed": seed,
        "data": data,
        "sandbox": sandbox,
        "started_at": started_at,
        "duration_s": round(duration_s, 3),
        "files": files,
        "questions": questions,
        "manual": [
            {"id": m.id, "title": m.title, "max_score": m.points, "score": None, "comment": None}
            for m in assignment.manual
        ],
        "artifacts": {},
    }
