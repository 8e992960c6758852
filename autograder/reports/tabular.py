"""Reports step: shared by the CSV exports: which students have a grade, scaling, number formatting,
spreadsheet-safe text, score lookup, writing, and the summary every export ends with."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course.gradebook import CountedScore

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Statuses the gradebook scores (an ungradable zip and a late-only student earn their 0). Any
# other status, such as a grader fault, is "no grade": an export never turns it into a 0.
SCORED_STATUSES = frozenset({"graded", "ungradable", "after_cutoff"})


def has_grade(score: CountedScore) -> bool:
    return score.status in SCORED_STATUSES


@dataclass(frozen=True)
class Scale:
    """Points as the LMS column counts them: `score * to / out_of`; `to=None` writes them as is."""

    to: float | None = None

    def grade(self, score: CountedScore) -> float:
        if self.to is None or score.max_score <= 0:
            return score.score
        return score.score * self.to / score.max_score

    def maximum(self, points_possible: float) -> float:
        return points_possible if self.to is None else self.to

    def describe(self) -> str:
        return "none (points as graded)" if self.to is None else f"scaled to {fmt_points(self.to)} points"


AS_GRADED = Scale()


@dataclass
class ExportReport:
    """What an export wrote and left out, for the summary that ends every export."""

    path: Path
    rows: int = 0
    skipped: list[str] = field(default_factory=list)  # graded students left out, with the reason
    no_grade: list[str] = field(default_factory=list)  # students or roster rows with no grade to send
    no_grade_rule: str = "no row is written for them"
    scale: Scale = AS_GRADED
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        skipped = f"{len(self.skipped)} student(s) skipped" + (f" ({'; '.join(self.skipped)})" if self.skipped else "")
        no_grade = f"{len(self.no_grade)} with no grade" + (
            f" ({'; '.join(self.no_grade)}: {self.no_grade_rule})" if self.no_grade else "")
        return f"wrote {self.path}: {self.rows} row(s); {skipped}; {no_grade}; scale: {self.scale.describe()}"


def graded_only(scores: Iterable[CountedScore], report: ExportReport) -> list[CountedScore]:
    """The scores that carry a grade; the others are recorded in the report as having none."""
    kept = []
    for score in scores:
        if has_grade(score):
            kept.append(score)
        else:
            report.no_grade.append(f"{score.student} ({score.status})")
    return kept


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
    """Scores by student, and the students listed more than once (left out: which row is right?)."""
    by_student: dict[str, CountedScore] = {}
    duplicates: set[str] = set()
    for score in scores:
        if score.student in by_student:
            duplicates.add(score.student)
        by_student[score.student] = score
    for student in duplicates:
        del by_student[student]
    return by_student, sorted(duplicates)


def start_export(path: str | Path, scores: Iterable[CountedScore], scale: Scale = AS_GRADED,
                 no_grade_rule: str = "no row is written for them") -> tuple[dict[str, CountedScore], ExportReport]:
    """The graded students by id, and the report of the export about to be written."""
    report = ExportReport(Path(path), scale=scale, no_grade_rule=no_grade_rule)
    by_student, duplicates = index_scores(graded_only(scores, report))
    report.skipped += [f"{s}: listed more than once in the grades" for s in duplicates]
    return by_student, report


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
