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
from autograder.reports.tabular import fmt_points


def _case_output(case: dict) -> str:
    parts = []
    if case.get("value") is not None and case.get("metric"):
        parts.append(f"{case['metric']} = {case['value']:.3g}"
                     + (f" (threshold {case['threshold']:.3g})" if case.get("threshold") is not None else ""))
    if case.get("hidden"):
        parts.append("hidden case: parameters " + json.dumps(case.get("params") or {}, sort_keys=True))
    if case.get("message"):
        parts.append(case["message"])
    return "\n".join(parts)


def _tests(question: dict, visibility: Visibility) -> list[dict]:
    cases = question.get("cases") or []
    name = f"{question['id']} {question.get('title', '')}"
    stdout = ([{"score": 0.0, "max_score": 0.0, "status": "passed", "name": f"{name}: output",
                "number": f"{question['id']}.out", "output": question["stdout"], "visibility": visibility.stdout}]
              if question.get("stdout") else [])  # fmt: skip
    if not cases:
        return [{"score": question["score"], "max_score": question["max_score"],
                 "status": "passed" if question.get("status") == "passed" else "failed",
                 "name": name, "number": question["id"],
                 "output": question.get("message") or question.get("status", ""),
                 "visibility": "visible"}] + stdout
    return [{"score": case.get("points") or 0.0, "max_score": case.get("max_points") or 0.0,
             "status": "passed" if case.get("passed") else "failed",
             "name": f"{name}: {case.get('name', '')}",
             "number": f"{question['id']}.{i}", "output": _case_output(case),
             "visibility": visibility.hidden_inputs if case.get("hidden") else "visible"}
            for i, case in enumerate(cases, start=1)] + stdout


def gradescope_results(result: dict, visibility: Visibility) -> dict:
    """The results.json object for one result document, following the assignment's visibility."""
    lines = [result.get("message") or "",
             f"Score {fmt_points(result.get('score'))}/{fmt_points(result.get('max_score'))}"
             f" ({result.get('status')})"]
    warning = (result.get("sandbox") or {}).get("warning")
    if warning:
        lines.append(f"Sandbox: {warning}")
    return {"score": result.get("score") or 0.0,
            "execution_time": round(result.get("duration_s") or 0.0, 3),
            "output": "\n".join(line for line in lines if line),
            "visibility": "visible", "stdout_visibility": "hidden",
            "tests": [t for q in result.get("questions") or [] for t in _tests(q, visibility)]}


def write_gradescope(path: str | Path, result: dict, visibility: Visibility) -> Path:
    """Write results.json (the caller picks the path, e.g. /autograder/results/results.json)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gradescope_results(result, visibility), indent=2, allow_nan=False), encoding="utf-8")
    return path
