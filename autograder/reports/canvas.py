"""Canvas gradebook import CSV (Grades > Import), filled from a Canvas gradebook export.

Rows are the roster's (the CSV Canvas exports: Student, ID, SIS User ID, SIS Login ID,
Section, ...). A gradebook student id is looked up in `SIS User ID`, then `SIS Login ID`, then
Canvas's numeric `ID`, first unique hit wins. Roster rows with no submission keep an empty cell
(Canvas leaves their grade unchanged) and are warned about, as are graded students missing from
the roster and duplicate ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from autograder.gradebook import CountedScore
from autograder.reports.tabular import fmt_points, index_scores, points_possible, to_csv, write_text
from autograder.roster import match_students, read_roster

COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MATCH_KEYS = ("SIS User ID", "SIS Login ID", "ID")
POINTS_POSSIBLE = "    Points Possible"  # Canvas writes (and reads back) it indented


def _not_a_student(row: dict[str, str]) -> bool:
    """Canvas exports carry a Points Possible row and, for muted/manual-posting columns, an
    unlabelled row; students always have a numeric ID."""
    return row.get("Student") == "Points Possible" or not row.get("ID")


def write_canvas(path: str | Path, scores: Sequence[CountedScore], roster_path: str | Path,
                 title: str, canvas_assignment_id: str | int,
                 max_points: float | None = None) -> list[str]:
    """Write the import file for one assignment column `Title (id)`; returns the warnings."""
    roster = read_roster(roster_path, required=("Student", "ID", "SIS Login ID", "Section"),
                         skip=_not_a_student)
    by_student, warnings = index_scores(scores)
    maximum, more = points_possible(by_student.values(), max_points)
    match = match_students(by_student, roster, MATCH_KEYS, label=lambda r: r.get("Student", ""))
    rows = [[*COLUMNS, f"{title} ({canvas_assignment_id})"],
            [POINTS_POSSIBLE, "", "", "", "", fmt_points(maximum)]]
    for i, entry in enumerate(roster.rows):
        student = match.rows.get(i)
        score = fmt_points(by_student[student].score) if student is not None else ""
        rows.append([entry.get(c, "") for c in COLUMNS] + [score])
    write_text(path, to_csv(rows))
    return warnings + more + match.warnings
