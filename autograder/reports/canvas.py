"""Reports step: Canvas gradebook import CSV (Grades > Import), filled from a Canvas gradebook export.

The roster is any gradebook export Canvas offers: comma- or semicolon-separated (the "use
semicolons" setting), with a `Student` column or `LastName`/`FirstName` (the "first and last
names" option), with or without `SIS User ID`, `Integration ID` and `Root Account`. The import
file repeats the roster's own identity columns, comma-separated. A gradebook student id is looked
up in `SIS User ID`, then `SIS Login ID`, then Canvas's numeric `ID`, first unique hit wins.

Rows are written only for students with a grade. Canvas reads an empty cell against an existing
score as a change and clears it (an existing 95 or an excused "EX" would be erased), so roster
students with no submission, or with no grade (a grader fault), get no row at all: Canvas leaves
their grade unchanged. Graded students missing from the roster and duplicate ids are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from autograder.course.gradebook import CountedScore
from autograder.course.roster import match_students, read_roster
from autograder.reports.tabular import (
    AS_GRADED,
    ExportReport,
    Scale,
    fmt_points,
    points_possible,
    start_export,
    to_csv,
    write_text,
)

NAMES = (("Student",), ("LastName", "FirstName"))  # the two layouts of Canvas's export
IDENTITY = ("Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Integration ID",
            "Root Account", "Section")  # fmt: skip
REQUIRED = (("Student", "LastName"), "ID", "SIS Login ID", "Section")
MATCH_KEYS = ("SIS User ID", "SIS Login ID", "ID")
POINTS_POSSIBLE = "    Points Possible"  # Canvas writes (and reads back) it indented
EXCUSED = "EX"
NO_GRADE_RULE = "no row written: Canvas keeps their current grade"


def _not_a_student(row: dict[str, str]) -> bool:
    """Canvas exports carry a Points Possible row and, for muted/manual-posting columns, an
    unlabelled row; students always have a numeric ID."""
    return "Points Possible" in (row.get("Student"), row.get("LastName")) or not row.get("ID")


def _name(row: dict[str, str]) -> str:
    return row.get("Student") or ", ".join(v for v in (row.get("LastName"), row.get("FirstName")) if v)


def write_canvas(path: str | Path, scores: Sequence[CountedScore], roster_path: str | Path,
                 title: str, canvas_assignment_id: str | int,
                 max_points: float | None = None, scale: Scale = AS_GRADED) -> ExportReport:
    """Write the import file for one assignment column `Title (id)`; refuses to write one with no
    student row (ValueError)."""
    roster = read_roster(roster_path, required=REQUIRED, skip=_not_a_student,
                         fix="give the file Canvas's Grades > Export > Export Entire Gradebook writes")
    by_student, report = start_export(path, scores, scale, NO_GRADE_RULE)
    maximum, more = points_possible(by_student.values(), max_points)
    ungraded = [s.student for s in scores if s.student not in by_student]  # matched so their rows are not "no submission"
    match = match_students([*by_student, *ungraded], roster, MATCH_KEYS, label=_name)
    report.warnings += more + match.warnings
    report.skipped += [f"{s}: not matched to one roster row" for s in match.unmatched if s in by_student]
    report.no_grade += [f"{_name(roster.rows[i])} (no submission)" for i in match.unclaimed]
    columns = [c for c in IDENTITY if c in roster.columns]
    target = f"{title} ({canvas_assignment_id})"
    rows = [[*columns, target], [POINTS_POSSIBLE, *[""] * (len(columns) - 1), fmt_points(scale.maximum(maximum))]]
    for i in sorted(i for i, student in match.rows.items() if student in by_student):
        entry, score = roster.rows[i], by_student[match.rows[i]]
        if entry.get(target, "").strip().upper() == EXCUSED:
            report.warnings.append(f"roster line {roster.lines[i]} ({_name(entry)}) is excused (EX) in Canvas; "
                                   f"this import replaces it with a grade")  # fmt: skip
        rows.append([entry.get(c, "") for c in columns] + [fmt_points(scale.grade(score))])
    if len(rows) == 2:
        raise ValueError(f"{roster_path}: no roster student has a grade to import; no file written")
    write_text(path, to_csv(rows))
    report.rows = len(rows) - 2
    return report

