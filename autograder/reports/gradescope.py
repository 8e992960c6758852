"""Reports step: Gradescope autograder `results.json`, one per result document (Gradescope's autograder spec).

Each judged case is one Gradescope test (`number` "Q1.2"). A hidden case's test carries its
parameters and takes the assignment's `[visibility] hidden_inputs` level, so Gradescope itself
applies `after_due_date` / `after_published` / `hidden`; the printed output of each question is a
0-point test at the `stdout` level. A question that failed before any case ran (timeout, error,
...) is one test carrying its message. The top-level `score` is the document's (Gradescope then
ignores the sum of tests). Manual items are left to Gradescope's own manual grading.
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder.assignment import Visibility
from autograder.grading.result import CaseOutcome, QuestionResult, Result
from autograder.reports.tabular import fmt_points


def _case_output(case: CaseOutcome) -> str:
    parts = []
    if case.value is not None and case.metric:
        parts.append(f"{case.metric} = {case.value:.3g}"
                     + (f" (threshold {case.threshold:.3g})" if case.threshold is not None else ""))
    if case.hidden:
        parts.append("hidden case: parameters " + json.dumps(case.params or {}, sort_keys=True))
    if case.message:
        parts.append(case.message)
    return "\n".join(parts)


def _tests(question: QuestionResult, visibility: Visibility) -> list[dict]:
    name = f"{question.id} {question.title}"
    stdout = ([{"score": 0.0, "max_score": 0.0, "status": "passed", "name": f"{name}: output",
                "number": f"{question.id}.out", "output": question.stdout, "visibility": visibility.stdout}]
              if question.stdout else [])  # fmt: skip
    if not question.cases:
        return [{"score": question.score, "max_score": question.max_score,
                 "status": "passed" if question.status == "passed" else "failed",
                 "name": name, "number": question.id, "output": question.message or question.status,
                 "visibility": "visible"}] + stdout  # fmt: skip
    return [{"score": case.points or 0.0, "max_score": case.max_points or 0.0,
             "status": "passed" if case.passed else "failed", "name": f"{name}: {case.name}",
             "number": f"{question.id}.{i}", "output": _case_output(case),
             "visibility": visibility.hidden_inputs if case.hidden else "visible"}
            for i, case in enumerate(question.cases, start=1)] + stdout  # fmt: skip


def gradescope_results(result: Result, visibility: Visibility) -> dict:
    """The results.json object for one result, following the assignment's visibility."""
    lines = [result.message or "", f"Score {fmt_points(result.score)}/{fmt_points(result.max_score)} ({result.status})"]
    if result.sandbox.warning:
        lines.append(f"Sandbox: {result.sandbox.warning}")
    return {"score": result.score or 0.0,
            "execution_time": round(result.duration_s or 0.0, 3),
            "output": "\n".join(line for line in lines if line),
            "visibility": "visible", "stdout_visibility": "hidden",
            "tests": [t for q in result.questions for t in _tests(q, visibility)]}  # fmt: skip


def write_gradescope(path: str | Path, result: Result, visibility: Visibility) -> Path:
    """Write results.json (the caller picks the path, e.g. /autograder/results/results.json)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gradescope_results(result, visibility), indent=2, allow_nan=False), encoding="utf-8")
    return path
