"""Reports step: Moodle imports: the gradebook CSV (Grades > Import > CSV file) and the assignment's grading worksheet.

`--identifier participant` writes the assignment's offline grading worksheet (Assignment > View
all submissions > Upload grading worksheet), keyed like a Moodle bulk download: the number in a
download's `Full Name_12345_assignsubmission_file_` folder is the participant id that `grade
batch` records as the student, and the worksheet's `Identifier` is "Participant 12345". Moodle's
importer needs the `Identifier`, `Grade` and `Last modified (grade)` columns (it skips a row whose
grade changed in Moodle after that time) and reads `Feedback comments`.

The identifier is Moodle's `ID number` or `Email address` (map it to "ID number"/"Email
address" and the grade column to the grade item in Moodle's import form, the feedback column to
"Feedback for <item>"). Without a roster the gradebook student id is written as the identifier;
with a Moodle grade export as roster, students are matched on ID number, then email address,
and the chosen identifier column of their row is written.

Moodle's CSV import refuses the whole file when one identifier is unknown
(`usermappingerrorusernotfound`) or one grade is above 100 (`gradevaluetoobig`; a site with
unlimited grades allows up to its `gradepointmax`). So graded students missing from the roster
are left out before writing, and grades above 100 are refused unless scaled (`Scale`) to the
Moodle column's maximum. The worksheet importer instead skips, without a message, a grade above
the assignment's maximum grade, and finds its columns by their names in the importing user's
language: both are warned about. Students with no grade get no row.
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
    start_export,
    to_csv,
    write_text,
)

IDENTIFIERS = {"idnumber": "ID number", "email": "Email address"}
FEEDBACK = "Feedback"
WORKSHEET = ("Identifier", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments")
PARTICIPANT = "Participant "  # Moodle's own prefix (string 'hiddenuser' of mod_assign)
IMPORT_MAX = 100.0  # grade_import's limit without $CFG->unlimitedgrades


def write_moodle_worksheet(path: str | Path, scores: Sequence[CountedScore], written_at: str,
                           scale: Scale = AS_GRADED) -> ExportReport:
    """The grading worksheet for students recorded by their Moodle participant id; refuses to
    write one with no student row (ValueError)."""
    by_student, report = start_export(path, scores, scale)
    rows: list[list[str]] = [list(WORKSHEET)]
    for student in sorted(by_student):
        if not student.isdigit():
            report.skipped.append(f"{student}: not a Moodle participant id")
            continue
        score = by_student[student]
        rows.append([PARTICIPANT + student, fmt_points(scale.grade(score)), fmt_points(scale.maximum(score.max_score)),
                     written_at, feedback_text(score)])  # fmt: skip
    if len(rows) == 1:
        raise ValueError(f"no graded student is recorded by a Moodle participant id (grade batch on a Moodle bulk "
                         f"download records them); no worksheet written to {path}")  # fmt: skip
    top = max(float(r[1]) for r in rows[1:])
    report.warnings += [
        f"Moodle skips, without a message, a grade above the assignment's Maximum grade: set it to at least "
        f"{fmt_points(top)} in Moodle before uploading (or use --scale-to)",
        "the worksheet's column names are Moodle's English ones: upload it with English as your Moodle language"]
    write_text(path, to_csv(rows))
    report.rows = len(rows) - 1
    return report


def write_moodle(path: str | Path, scores: Sequence[CountedScore], grade_column: str,
                 identifier: Literal["idnumber", "email"] = "idnumber",
                 roster_path: str | Path | None = None, scale: Scale = AS_GRADED) -> ExportReport:
    """Write one row per graded student; refuses grades Moodle would reject the file for (ValueError)."""
    column = IDENTIFIERS[identifier]
    by_student, report = start_export(path, scores, scale)
    ids = {s: s for s in by_student}
    if roster_path is None:
        report.warnings.append(f"no --roster: the {column} values are the gradebook's ids, unchecked; Moodle "
                               f"refuses the whole file if one of them is not in the course")  # fmt: skip
    else:
        roster = read_roster(roster_path, required=(column,))
        match = match_students(by_student, roster, ("ID number", "Email address"))
        report.warnings += match.warnings
        report.skipped += [f"{s}: not in the roster (Moodle would refuse the file)" for s in match.unmatched]
        ids = {student: roster.rows[i][column] for i, student in match.rows.items()}
        for student in [s for s, value in ids.items() if not value]:
            report.skipped.append(f"{student}: empty {column} in the roster")
            del ids[student]
    _check_import_max([scale.grade(by_student[s]) for s in ids], scale)
    rows = [[column, grade_column, FEEDBACK]]
    rows += [[ids[s], fmt_points(scale.grade(by_student[s])), feedback_text(by_student[s])]
             for s in sorted(ids, key=ids.__getitem__)]
    write_text(path, to_csv(rows))
    report.rows = len(rows) - 1
    if scale.to is not None and scale.to > IMPORT_MAX:
        report.warnings.append(f"Moodle imports grades above {fmt_points(IMPORT_MAX)} only on a site that allows "
                               f"unlimited grades up to at least {fmt_points(scale.to)}")  # fmt: skip
    return report


def _check_import_max(grades: Sequence[float], scale: Scale) -> None:
    """Unscaled points above Moodle's import limit would make it refuse the whole file."""
    top = max(grades, default=0.0)
    if scale.to is None and top > IMPORT_MAX:
        raise ValueError(f"grades up to {fmt_points(top)} are above {fmt_points(IMPORT_MAX)}, and Moodle refuses the "
                         f"whole file then (gradevaluetoobig): give --scale-to 100 (the Moodle column's maximum)")  # fmt: skip
