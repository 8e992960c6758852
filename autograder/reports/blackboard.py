"""Blackboard Learn Grade Center upload (Work Offline > Upload): `Username` + one score column.

The column header is Blackboard's own `Title [Total Pts: N Score] |<column id>`; the column id
(Quick Column Information) makes the upload update that column, and without it Blackboard
creates a new text column. Two variants, as Blackboard accepts them: tab-delimited (what it
downloads: UTF-16 with BOM, usually named .xls; the recommended one) and comma-delimited .csv
(UTF-8, every field quoted, as Blackboard requires for CSV). With a roster (a Grade Center
download), students are matched on Username, then Student ID, and the roster's Username is
written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from autograder.gradebook import CountedScore
from autograder.reports.tabular import fmt_points, index_scores, points_possible, to_csv, write_text
from autograder.roster import match_students, read_roster

USERNAME = "Username"


def column_header(title: str, max_points: float, column_id: str | int | None) -> str:
    header = f"{title} [Total Pts: {fmt_points(max_points)} Score]"
    return header if column_id is None else f"{header} |{column_id}"


def write_blackboard(path: str | Path, scores: Sequence[CountedScore], title: str,
                     column_id: str | int | None = None,
                     delimiter: Literal["tab", "comma"] = "tab",
                     roster_path: str | Path | None = None,
                     max_points: float | None = None) -> list[str]:
    """Write the upload file; returns the warnings."""
    by_student, warnings = index_scores(scores)
    maximum, more = points_possible(by_student.values(), max_points)
    warnings += more
    if column_id is None:
        warnings.append("no Blackboard column id: the upload will create a new text column")
    usernames = {s: s for s in by_student}
    if roster_path is not None:
        roster = read_roster(roster_path, required=(USERNAME,))
        match = match_students(by_student, roster, (USERNAME, "Student ID"))
        warnings += match.warnings
        usernames = {student: roster.rows[i][USERNAME] for i, student in match.rows.items()}
    rows = [[USERNAME, column_header(title, maximum, column_id)]]
    rows += [[usernames[s], fmt_points(by_student[s].score)]
             for s in sorted(usernames, key=usernames.__getitem__)]
    if delimiter == "tab":
        write_text(path, to_csv(rows, delimiter="\t"), encoding="utf-16")
    else:
        write_text(path, to_csv(rows, quote_all=True))
    return warnings
