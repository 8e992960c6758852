"""Shared by the CSV exports: number formatting, spreadsheet-safe text, score lookup, writing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from autograder.gradebook import CountedScore

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def fmt_points(value: float | None) -> str:
    """Points as LMS importers read them: at most 4 decimals, no trailing zeros, '' for none."""
    if value is None:
        return ""
    text = f"{round(value, 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def safe_text(text: str) -> str:
    """Free text that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def index_scores(scores: Iterable[CountedScore]) -> tuple[dict[str, CountedScore], list[str]]:
    """Scores by student; a student listed twice is left out and warned about."""
    by_student: dict[str, CountedScore] = {}
    duplicates: set[str] = set()
    for score in scores:
        if score.student in by_student:
            duplicates.add(score.student)
        by_student[score.student] = score
    for student in duplicates:
        del by_student[student]
    return by_student, [f"student {s!r} appears more than once in the grades; not exported"
                        for s in sorted(duplicates)]


def points_possible(scores: Iterable[CountedScore], given: float | None = None) -> tuple[float, list[str]]:
    """The column's maximum: `given`, else the one all scores share (the largest, warned, if not)."""
    maxima = sorted({s.max_score for s in scores})
    if given is not None:
        return given, []
    if not maxima:
        return 0.0, ["no grades to export"]
    warnings = ([f"students have different maximum scores {', '.join(map(fmt_points, maxima))}; "
                 f"the column uses {fmt_points(maxima[-1])}"] if len(maxima) > 1 else [])
    return maxima[-1], warnings


def feedback_text(score: CountedScore) -> str:
    """One line for an LMS feedback cell: numbers, statuses, grader comments and late notes."""
    parts = [f"{fmt_points(score.score)}/{fmt_points(score.max_score)} ({score.status})"]
    parts += [f"{q.id} {fmt_points(q.score)}/{fmt_points(q.max_score)} {q.status}"
              + (f": {q.comment}" if q.comment else "") for q in score.questions]
    parts += [f"{m.id} {fmt_points(m.score) or '-'}/{fmt_points(m.max_score)}"
              + (f": {m.comment}" if m.comment else "") for m in score.manual]
    parts += list(score.notes)
    return safe_text("; ".join(p.replace("\n", " ") for p in parts))


def to_csv(rows: Sequence[Sequence[str]], delimiter: str = ",", quote_all: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter,
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue()


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write with exactly the given encoding (utf-16 means little-endian with a BOM)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"\xff\xfe" + text.encode("utf-16-le") if encoding == "utf-16" else text.encode(encoding)
    path.write_bytes(data)
    return path
