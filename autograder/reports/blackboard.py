"""Reports step: Blackboard Learn Grade Center upload (Work Offline > Upload): `Username`, one score column, feedback.

The column header is Blackboard's own `Title [Total Pts: N Score] |<column id>`; the column id
(Quick Column Information) makes the upload update that column, and without it Blackboard
creates a new text column. Two variants, as Blackboard accepts them: tab-delimited (what it
downloads: UTF-16 with BOM, named .xls; the recommended one) and comma-delimited .csv (UTF-8,
every field quoted, as Blackboard requires for CSV); Blackboard picks the parser by the file's
extension, so a mismatch is warned about. Blackboard takes feedback only in an upload of a single
grade column, as `Feedback to User` with its `Feedback Format`: this file is always one column,
so the feedback line travels with the score. With a roster (a Grade Center download), students
are matched on Username, then Student ID, and the roster's Username is written. Students with no
grade get no row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from autograder.course.gradebook import CountedScore
from autograder.course.roster import match_students, read_roster
from autograder.reports.tabular import (
    AS_GRADED,
    ExportReport,
    Scale,
    feedback_text,
    fmt_points,
    points_possible,
    start_export,
    to_csv,
    write_text,
)

USERNAME = "Username"
FEEDBACK = ("Feedback to User", "Feedback Format")
PLAIN_TEXT = "PLAIN_TEXT"  # never HTML: comments are shown as written
EXTENSIONS = {"tab": (".xls", ".txt"), "comma": (".csv",)}


def column_header(title: str, max_points: float, column_id: str | int | None) -> str:
    header = f"{title} [Total Pts: {fmt_points(max_points)} Score]"
    return header if column_id is None else f"{header} |{column_id}"


def write_blackboard(path: str | Path, scores: Sequence[CountedScore], title: str,
                     column_id: str | int | None = None,
                     delimiter: Literal["tab", "comma"] = "tab",
                     roster_path: str | Path | None = None,
                     max_points: float | None = None, scale: Scale = AS_GRADED) -> ExportReport:
    """Write the upload file and report what it holds."""
    by_student, report = start_export(path, scores, scale)
    maximum, more = points_possible(by_student.values(), max_points)
    report.warnings += more
    if column_id is None:
        report.warnings.append("no Blackboard column id: the upload will create a new text column")
    if Path(path).suffix.lower() not in EXTENSIONS[delimiter]:
        report.warnings.append(f"{Path(path).name}: Blackboard reads a {delimiter}-delimited upload only from a "
                               f"{' or '.join(EXTENSIONS[delimiter])} file; rename it or change --delimiter")  # fmt: skip
    usernames = {s: s for s in by_student}
    if roster_path is not None:
        roster = read_roster(roster_path, required=(USERNAME,))
        match = match_students(by_student, roster, (USERNAME, "Student ID"))
        report.warnings += match.warnings
        report.skipped += [f"{s}: not in the roster" for s in match.unmatched]
        usernames = {student: roster.rows[i][USERNAME] for i, student in match.rows.items()}
    rows = [[USERNAME, column_header(title, scale.maximum(maximum), column_id), *FEEDBACK]]
    rows += [[usernames[s], fmt_points(scale.grade(by_student[s])), feedback_text(by_student[s]), PLAIN_TEXT]
             for s in sorted(usernames, key=usernames.__getitem__)]
    if delimiter == "tab":
        write_text(path, to_csv(rows, delimiter="\t"), encoding="utf-16")
    else:
        write_text(path, to_csv(rows, quote_all=True))
    report.rows = len(rows) - 1
    return report
