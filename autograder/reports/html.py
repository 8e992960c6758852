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


def _case_view(case: dict, shown: Shown, curves: Mapping[str, str]) -> dict:
    hidden = bool(case.get("hidden"))
    extras = case.get("extras") if isinstance(case.get("extras"), dict) else {}
    numbers = {} if hidden else {k: v for k, v in extras.items()
                                 if _number(v) is not None and "expect" not in k.lower()}
    return {"name": str(case.get("name", "")), "hidden": hidden, "passed": bool(case.get("passed")),
            "metric": case.get("metric") or "", "value": case.get("value"),
            "threshold": case.get("threshold"), "points": case.get("points"),
            "max_points": case.get("max_points"),
            "params": (json.dumps(case.get("params") or {}, sort_keys=True, default=str)
                       if shown.hidden_inputs or not hidden else WITHHELD),
            "message": str(case.get("message") or ""), "numbers": numbers,
            "curves": [c for k, label in curves.items() if (c := curve(label, extras.get(k)))],
            "diagnosis": extras["diagnosis"] if isinstance(extras.get("diagnosis"), str) else ""}


def _question_view(q: dict, shown: Shown, curves: Mapping[str, str]) -> dict:
    return {"id": str(q.get("id", "")), "title": str(q.get("title", "")),
            "status": str(q.get("status", "")), "score": q.get("score"),
            "max_score": q.get("max_score"), "message": str(q.get("message") or ""),
            "duration_s": q.get("duration_s"), "stdout": str(q.get("stdout") or "") if shown.stdout else "",
            "override": q.get("override"),
            "cases": [_case_view(c, shown, curves) for c in q.get("cases") or []]}


def _feedback_view(result: dict, shown: Shown, curves: Mapping[str, str]) -> dict:
    counted = result.get("counted") or {}
    files = result.get("files") or {}
    sandbox = result.get("sandbox") or {}
    artifacts = result.get("artifacts") or {}
    return {
        "r": {k: result.get(k) for k in ("assignment", "assignment_version", "submission",
                                         "student", "status", "message", "data",
                                         "started_at", "duration_s")},
        "seed": result.get("seed") if shown.hidden_inputs else WITHHELD,
        "visibility_note": shown.note,
        "sha256": str(result.get("sha256") or "")[:12],
        "score": counted.get("score", result.get("score")) if _has_grade(result) else None,
        "max_score": counted.get("max_score", result.get("max_score")),
        "counted": counted,
        "sandbox_kind": sandbox.get("kind") or "—", "sandbox_warning": sandbox.get("warning"),
        "found": sorted((files.get("found") or {}).items()),
        "missing": list(files.get("missing") or []), "ignored": list(files.get("ignored") or []),
        "questions": [_question_view(q, shown, curves) for q in result.get("questions") or []],
        "manual": [{"id": str(m.get("id", "")), "title": str(m.get("title", "")),
                    "score": m.get("score"), "max_score": m.get("max_score"),
                    "comment": m.get("comment") or "", "grader": m.get("grader") or ""}
                   for m in result.get("manual") or []],
        "notebook": _safe_link(artifacts.get("notebook_html")),
        "notebook_text": str(artifacts.get("notebook_html") or ""),
    }


def render_feedback(result: dict, shown: Shown, curves: Mapping[str, str] = MappingProxyType({})) -> str:
    """One student's feedback page for one result document (counted or not), showing what `shown` allows.

    `curves`: the assignment's `[report.curves]`, the case extras plotted and their labels.
    """
    return _ENV.get_template("feedback.html").render(**_feedback_view(result, shown, curves))


def _has_grade(result: dict) -> bool:
    """A grader fault (any status the gradebook does not score) is no grade, never a 0."""
    return result.get("status") in SCORED_STATUSES


def _percent(result: dict) -> float | None:
    if not _has_grade(result):
        return None
    counted = result.get("counted") or {}
    score = _number(counted.get("score", result.get("score"))) or 0.0
    maximum = _number(counted.get("max_score", result.get("max_score"))) or 0.0
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


def _question_rates(results: Sequence[dict]) -> list[dict]:
    rows: dict[str, dict] = {}
    for result in results:
        for q in result.get("questions") or []:
            row = rows.setdefault(str(q.get("id")), {"id": str(q.get("id")), "title": str(q.get("title", "")),
                                                     "n": 0, "passed": 0, "points": 0.0,
                                                     "max_score": q.get("max_score")})
            row["n"] += 1
            row["passed"] += q.get("status") == "passed"
            row["points"] += _number(q.get("score")) or 0.0
    for row in rows.values():
        row["rate"] = 100.0 * row["passed"] / row["n"]
        row["mean"] = row["points"] / row["n"]
    return list(rows.values())


def _first_line(text: Any, limit: int = 160) -> str:
    line = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _failures(results: Sequence[dict]) -> list[tuple[str, str, int]]:
    """Most common (question, message) among failing questions and ungradable submissions."""
    counter: Counter[tuple[str, str]] = Counter()
    for result in results:
        if result.get("status") == "ungradable":
            counter["(ungradable)", _first_line(result.get("message"))] += 1
        for q in result.get("questions") or []:
            if q.get("status") != "passed" and _first_line(q.get("message")):
                counter[str(q.get("id")), _first_line(q.get("message"))] += 1
    return [(q, msg, n) for (q, msg), n in counter.most_common(TOP_N)]


def _summary_view(results: Sequence[dict]) -> dict:
    percents = [p for p in map(_percent, results) if p is not None]
    slowest = sorted(results, key=lambda r: _number(r.get("duration_s")) or 0.0, reverse=True)[:TOP_N]
    return {
        "n": len(results),
        "graded": sum(r.get("status") == "graded" for r in results),
        "ungradable": sum(r.get("status") == "ungradable" for r in results),
        "no_grade": sum(not _has_grade(r) for r in results),
        "mean": statistics.fmean(percents) if percents else None,
        "median": statistics.median(percents) if percents else None,
        "assignments": sorted({f"{r.get('assignment')} {r.get('assignment_version')}" for r in results}),
        "bars": _histogram(percents),
        "questions": _question_rates(results),
        "failures": _failures(results),
        "slowest": [{"student": str(r.get("student") or "—"), "submission": str(r.get("submission") or ""),
                     "duration_s": r.get("duration_s"), "status": str(r.get("status") or ""),
                     "percent": _percent(r)} for r in slowest],
    }


def render_class_summary(results: Sequence[dict], missing: Sequence[MissingGrade] = ()) -> str:
    """The class page: who is missing a grade (grader faults), score histogram, per-question pass
    rates, common failures, slowest runs."""
    return _ENV.get_template("class_summary.html").render(**_summary_view(results), missing=missing)


def feedback_filename(result: dict) -> str:
    """The page's file name: the submission's stem (`submission_stem`) and .html."""
    return submission_stem(result.get("student"), result.get("sha256")) + ".html"


def write_feedback_pages(results: Sequence[dict], folder: str | Path, shown: Shown,
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


def write_class_summary(results: Sequence[dict], path: str | Path, missing: Sequence[MissingGrade] = ()) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_class_summary(results, missing), encoding="utf-8")
    return path
