"""Reports step: plain CSV: one row per student, one column per question and manual item, totals and status."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from autograder.course.gradebook import CountedScore
from autograder.reports.tabular import (
    ExportReport,
    fmt_points,
    has_grade,
    index_scores,
    safe_text,
    to_csv,
    write_text,
)

TAIL = ("auto_score", "manual_score", "days_late", "late_factor", "total", "max_score",
        "attempts", "attempt_id", "notes")


def write_plain_csv(path: str | Path, scores: Sequence[CountedScore]) -> ExportReport:
    """Columns: student, status, each question id, each manual item id, then TAIL. Every student
    gets a row (staff's own record); one with no grade has an empty total, never a 0."""
    report = ExportReport(Path(path), no_grade_rule="their row has an empty total")
    by_student, duplicates = index_scores(scores)
    report.skipped += [f"{s}: listed more than once in the grades" for s in duplicates]
    items: dict[str, None] = {}
    for score in by_student.values():
        items.update(dict.fromkeys(i.id for i in score.questions + score.manual))
    rows = [["student", "status", *items, *TAIL]]
    for student in sorted(by_student):
        s = by_student[student]
        graded = has_grade(s)
        if not graded:
            report.no_grade.append(f"{student} ({s.status})")
        points = {i.id: fmt_points(i.score) for i in s.questions + s.manual}
        rows.append([student, s.status, *(points.get(i, "") for i in items),
                     fmt_points(s.auto_score) if graded else "", fmt_points(s.manual_score), str(s.days_late),
                     fmt_points(s.factor), fmt_points(s.score) if graded else "", fmt_points(s.max_score),
                     str(s.attempts), "" if s.attempt_id is None else str(s.attempt_id),
                     safe_text(" | ".join(s.notes))])
    write_text(path, to_csv(rows))
    report.rows = len(rows) - 1
    return report
