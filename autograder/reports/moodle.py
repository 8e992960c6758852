"""Moodle imports: the gradebook CSV (Grades > Import > CSV file) and the assignment's grading worksheet.

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
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from autograder.gradebook import CountedScore
from autograder.reports.tabular import feedback_text, fmt_points, index_scores, to_csv, write_text
from autograder.roster import match_students, read_roster

IDENTIFIERS = {"idnumber": "ID number", "email": "Email address"}
FEEDBACK = "Feedback"
WORKSHEET = ("Identifier", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments")
PARTICIPANT = "Participant "  # Moodle's own prefix (string 'hiddenuser' of mod_assign)


def write_moodle_worksheet(path: str | Path, scores: Sequence[CountedScore], written_at: str) -> list[str]:
    """The grading worksheet for students recorded by their Moodle participant id; returns warnings."""
    by_student, warnings = index_scores(scores)
    rows: list[list[str]] = [list(WORKSHEET)]
    for student in sorted(by_student):
        if not student.isdigit():
            warnings.append(f"student {student!r} is not a Moodle participant id; not in the worksheet")
            continue
        score = by_student[student]
        rows.append([PARTICIPANT + student, fmt_points(score.score), fmt_points(score.max_score), written_at,
                     feedback_text(score)])  # fmt: skip
    write_text(path, to_csv(rows))
    return warnings


def write_moodle(path: str | Path, scores: Sequence[CountedScore], grade_column: str,
                 identifier: Literal["idnumber", "email"] = "idnumber",
                 roster_path: str | Path | None = None) -> list[str]:
    """Write one row per graded student; returns the warnings."""
    column = IDENTIFIERS[identifier]
    by_student, warnings = index_scores(scores)
    ids = {s: s for s in by_student}
    if roster_path is not None:
        roster = read_roster(roster_path, required=(column,))
        match = match_students(by_student, roster, ("ID number", "Email address"))
        warnings += match.warnings
        ids = {student: roster.rows[i][column] for i, student in match.rows.items()}
        for student in [s for s, value in ids.items() if not value]:
            warnings.append(f"student {student!r}: empty {column} in the roster; not exported")
            del ids[student]
    rows = [[column, grade_column, FEEDBACK]]
    rows += [[ids[s], fmt_points(by_student[s].score), feedback_text(by_student[s])]
             for s in sorted(ids, key=ids.__getitem__)]
    write_text(path, to_csv(rows))
    return warnings
