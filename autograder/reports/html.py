"""Reports step: HTML pages: per-student feedback and the class summary (jinja2, autoescaped, self-contained).

Pages carry their CSS inline, draw charts as inline SVG, run no script and load nothing: a
Content-Security-Policy meta tag forbids scripts and remote fetches as a second line of defence
behind autoescaping. Every string from a result document is student-influenced and is only
ever rendered as escaped text. Hidden cases show their metric and threshold, and their
parameters and the result's seed only when the assignment's `[visibility]` allows it now
(`Shown`); likewise the questions' printed output. No expected value is ever in a result
document, and case `extras` are shown only as curves (with the judge's one-line `diagnosis` of
them under the first) and, for public cases, as plain numbers.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from autograder.assignment import Shown
from autograder.course.gradebook import MissingGrade
from autograder.grading.intake import submission_stem
from autograder.grading.result import CaseOutcome, QuestionResult, Result
from autograder.reports.tabular import SCORED_STATUSES, fmt_points

TEMPLATES = Path(__file__).parent / "templates"
MAX_CURVE_POINTS = 400
TOP_N = 10
BINS = 10
LINK_SCHEMES = ("", "file", "http", "https")
WITHHELD = "withheld"
STATUS_CLASS = {"passed": "ok", "partial": "warn", "graded": "ok", "manual": "info"}


@dataclass(frozen=True)
class Curve:
    """A polyline in a fixed SVG box: `points` holds only numbers we computed."""

    label: str
    points: str
    y_min: float
    y_max: float
    n: int
    width: int = 360
    height: int = 170
    pad: int = 34


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    x: float
    y: float
    height: float


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _sci(value: Any) -> str:
    number = _number(value)
    return "—" if number is None else f"{number:.3g}"


def _pts(value: Any) -> str:
    number = _number(value)
    return "—" if number is None else fmt_points(number)


def _status_class(status: str | None) -> str:
    return STATUS_CLASS.get(status or "", "bad")


_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(sci=_sci, pts=_pts, status_class=_status_class)


def curve(label: str, values: Any) -> Curve | None:
    """A line chart of a history list (non-finite entries dropped, long lists thinned)."""
    if not isinstance(values, list):
        return None
    ys = [y for y in map(_number, values) if y is not None]
    if len(ys) < 2:
        return None
    step = math.ceil(len(ys) / MAX_CURVE_POINTS)
    xs = list(range(0, len(ys), step))
    lo, hi = min(ys), max(ys)
    span = (hi - lo) or 1.0
    box = Curve(label, "", lo, hi, len(ys))
    inner_w, inner_h = box.width - 2 * box.pad, box.height - 2 * box.pad
    points = " ".join(f"{box.pad + inner_w * x / (len(ys) - 1):.1f},"
                      f"{box.pad + inner_h * (1 - (ys[x] - lo) / span):.1f}" for x in xs)
    return Curve(label, points, lo, hi, len(ys))


def _safe_link(target: Any) -> str | None:
    """A notebook link only for relative paths and file/http(s) URLs (never javascript:)."""
    if not isinstance(target, str) or not target.strip():
        return None
    return target if urlsplit(target.strip()).scheme.lower() in LINK_SCHEMES else None


def _case_view(case: CaseOutcome, shown: Shown, curves: Mapping[str, str]) -> dict:
    extras = case.extras if isinstance(case.extras, dict) else {}
    numbers = {} if case.hidden else {k: v for k, v in extras.items()
                                      if _number(v) is not None and "expect" not in k.lower()}
    return {"name": str(case.name), "hidden": bool(case.hidden), "passed": bool(case.passed),
            "metric": case.metric or "", "value": case.value, "threshold": case.threshold,
            "points": case.points, "max_points": case.max_points,
            "params": (json.dumps(case.params or {}, sort_keys=True, default=str)
                       if shown.hidden_inputs or not case.hidden else WITHHELD),
            "message": str(case.message or ""), "numbers": numbers,
            "curves": [c for k, label in curves.items() if (c := curve(label, extras.get(k)))],
            "diagnosis": extras["diagnosis"] if isinstance(extras.get("diagnosis"), str) else ""}  # fmt: skip


def _question_view(q: QuestionResult, shown: Shown, curves: Mapping[str, str]) -> dict:
    return {"id": str(q.id), "title": str(q.title), "status": str(q.status), "score": q.score,
            "max_score": q.max_score, "message": str(q.message or ""), "duration_s": q.duration_s,
            "stdout": str(q.stdout or "") if shown.stdout else "",
            "override": dataclasses.asdict(q.override) if q.override else None,
            "cases": [_case_view(c, shown, curves) for c in q.cases]}  # fmt: skip


def _feedback_view(result: Result, shown: Shown, curves: Mapping[str, str]) -> dict:
    counted = result.counted
    return {
        "r": {"assignment": result.assignment, "assignment_version": result.assignment_version,
              "submission": result.submission, "student": result.student, "status": result.status,
              "message": result.message, "data": result.data, "started_at": result.started_at,
              "duration_s": result.duration_s},
        "seed": result.seed if shown.hidden_inputs else WITHHELD,
        "visibility_note": shown.note,
        "sha256": str(result.sha256 or "")[:12],
        "score": (counted.score if counted else result.score) if _has_grade(result) else None,
        "max_score": counted.max_score if counted else result.max_score,
        "counted": dataclasses.asdict(counted) if counted else {},
        "sandbox_kind": result.sandbox.kind or "—", "sandbox_warning": result.sandbox.warning,
        "found": sorted(result.files.found.items()),
        "missing": list(result.files.missing), "ignored": list(result.files.ignored),
        "questions": [_question_view(q, shown, curves) for q in result.questions],
        "manual": [{"id": str(m.id), "title": str(m.title), "score": m.score, "max_score": m.max_score,
                    "comment": m.comment or "", "grader": m.grader or ""} for m in result.manual],
        "notebook": _safe_link(result.artifacts.get("notebook_html")),
        "notebook_text": str(result.artifacts.get("notebook_html") or ""),
    }  # fmt: skip


def render_feedback(result: Result, shown: Shown, curves: Mapping[str, str] = MappingProxyType({})) -> str:
    """One student's feedback page for one result document (counted or not), showing what `shown` allows.

    `curves`: the assignment's `[report.curves]`, the case extras plotted and their labels.
    """
    return _ENV.get_template("feedback.html").render(**_feedback_view(result, shown, curves))


def _has_grade(result: Result) -> bool:
    """A grader fault (any status the gradebook does not score) is no grade, never a 0."""
    return result.status in SCORED_STATUSES


def _percent(result: Result) -> float | None:
    if not _has_grade(result):
        return None
    score = _number(result.counted.score if result.counted else result.score) or 0.0
    maximum = _number(result.counted.max_score if result.counted else result.max_score) or 0.0
    return 100.0 * score / maximum if maximum > 0 else 0.0


def _histogram(percents: Sequence[float], width: int = 520, height: int = 180, pad: int = 24) -> list[Bar]:
    counts = [0] * BINS
    for p in percents:
        counts[min(max(int(p // (100 / BINS)), 0), BINS - 1)] += 1
    top = max(counts) or 1
    slot = (width - 2 * pad) / BINS
    bars = []
    for i, count in enumerate(counts):
        h = (height - 2 * pad) * count / top
        bars.append(Bar(f"{i * 10}–{i * 10 + 10}", count, pad + i * slot + 2, height - pad - h, h))
    return bars


def _question_rates(results: Sequence[Result]) -> list[dict]:
    rows: dict[str, dict] = {}
    for result in results:
        for q in result.questions:
            row = rows.setdefault(q.id, {"id": q.id, "title": q.title, "n": 0, "passed": 0, "points": 0.0,
                                         "max_score": q.max_score})  # fmt: skip
            row["n"] += 1
            row["passed"] += q.status == "passed"
            row["points"] += _number(q.score) or 0.0
    for row in rows.values():
        row["rate"] = 100.0 * row["passed"] / row["n"]
        row["mean"] = row["points"] / row["n"]
    return list(rows.values())


def _first_line(text: Any, limit: int = 160) -> str:
    line = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _failures(results: Sequence[Result]) -> list[tuple[str, str, int]]:
    """Most common (question, message) among failing questions and ungradable submissions."""
    counter: Counter[tuple[str, str]] = Counter()
    for result in results:
        if result.status == "ungradable":
            counter["(ungradable)", _first_line(result.message)] += 1
        for q in result.questions:
            if q.status != "passed" and _first_line(q.message):
                counter[q.id, _first_line(q.message)] += 1
    return [(q, msg, n) for (q, msg), n in counter.most_common(TOP_N)]


def _summary_view(results: Sequence[Result]) -> dict:
    percents = [p for p in map(_percent, results) if p is not None]
    slowest = sorted(results, key=lambda r: _number(r.duration_s) or 0.0, reverse=True)[:TOP_N]
    return {
        "n": len(results),
        "graded": sum(r.status == "graded" for r in results),
        "ungradable": sum(r.status == "ungradable" for r in results),
        "no_grade": sum(not _has_grade(r) for r in results),
        "mean": statistics.fmean(percents) if percents else None,
        "median": statistics.median(percents) if percents else None,
        "assignments": sorted({f"{r.assignment} {r.assignment_version}" for r in results}),
        "bars": _histogram(percents),
        "questions": _question_rates(results),
        "failures": _failures(results),
        "slowest": [{"student": str(r.student or "—"), "submission": str(r.submission or ""),
                     "duration_s": r.duration_s, "status": str(r.status or ""), "percent": _percent(r)}
                    for r in slowest],
    }  # fmt: skip


def render_class_summary(results: Sequence[Result], missing: Sequence[MissingGrade] = ()) -> str:
    """The class page: who is missing a grade (grader faults), score histogram, per-question pass
    rates, common failures, slowest runs."""
    return _ENV.get_template("class_summary.html").render(**_summary_view(results), missing=missing)


def feedback_filename(result: Result) -> str:
    """The page's file name: the submission's stem (`submission_stem`) and .html."""
    return submission_stem(result.student, result.sha256) + ".html"


def write_feedback_pages(results: Sequence[Result], folder: str | Path, shown: Shown,
                         curves: Mapping[str, str] = MappingProxyType({})) -> list[Path]:  # fmt: skip
    """One feedback page per result document in `folder`; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for result in results:
        path = folder / feedback_filename(result)
        path.write_text(render_feedback(result, shown, curves), encoding="utf-8")
        paths.append(path)
    return paths


def write_class_summary(results: Sequence[Result], path: str | Path, missing: Sequence[MissingGrade] = ()) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_class_summary(results, missing), encoding="utf-8")
    return path
