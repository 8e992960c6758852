"""Course step: rosters exported from an LMS: read them and match gradebook student ids to their rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Roster:
    """Rows of an LMS export, with the file line each came from (for warnings)."""

    path: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    lines: tuple[int, ...]


@dataclass
class Match:
    """Roster row index -> gradebook student, plus every problem found on the way."""

    rows: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # graded students given no row (why: in warnings)
    unclaimed: list[int] = field(default_factory=list)  # roster rows no student matched (no submission)


def _decode(raw: bytes) -> str:
    """LMS exports come as UTF-8 (with or without BOM) or, from Blackboard, UTF-16."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


DELIMITERS = (",", ";", "\t")


def _delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most columns: LMS exports are comma-,
    semicolon- (Canvas's "use semicolons" setting, for locales with a decimal comma) or
    tab-separated (Blackboard)."""
    return max(DELIMITERS, key=lambda d: len(next(csv.reader([header], delimiter=d), [])))


def read_roster(path: str | Path, required: Sequence[str | tuple[str, ...]] = (),
                skip: Callable[[dict[str, str]], bool] | None = None, fix: str = "") -> Roster:
    """Read a comma-, semicolon- or tab-separated roster; `skip` drops non-student rows such as
    Canvas's "Points Possible"; a missing `required` column is an error, ending with `fix` (a
    tuple in `required` is a set of alternatives: any one of them will do)."""
    text = _decode(Path(path).read_bytes())
    delimiter = _delimiter(text.partition("\n")[0])
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = tuple((c or "").strip() for c in reader.fieldnames or ())
    reader.fieldnames = list(columns)
    alternatives = [(c,) if isinstance(c, str) else c for c in required]
    missing = [" or ".join(c) for c in alternatives if not any(name in columns for name in c)]
    if missing:
        raise ValueError(f"{path}: roster lacks column(s) {', '.join(missing)}" + (f"; {fix}" if fix else ""))
    rows, lines = [], []
    for row in reader:
        clean = {k: (v or "").strip() for k, v in row.items() if k}
        if skip is None or not skip(clean):
            rows.append(clean)
            lines.append(reader.line_num)
    return Roster(str(path), columns, tuple(rows), tuple(lines))


def match_students(students: Iterable[str], roster: Roster, keys: Sequence[str],
                   label: Callable[[dict[str, str]], str] | None = None) -> Match:
    """Match each student id against the roster's `keys` columns, first key first.

    Warned, never silently dropped: a student found nowhere, an id shared by several rows of a
    key column (duplicate ids), two students landing on one row (both left out), and roster
    rows no student matched (no submission)."""
    label = label or (lambda row: ", ".join(row[k] for k in keys if row.get(k)))
    keys = [k for k in keys if k in roster.columns]
    match = Match()
    index = {k: _index(roster, k, match.warnings) for k in keys}
    claimed: dict[int, list[str]] = {}
    for student in students:
        hit = _find(student, keys, index, roster, match.warnings)
        if hit is not None:
            claimed.setdefault(hit, []).append(student)
        else:
            match.unmatched.append(student)
    for row, who in claimed.items():
        if len(who) == 1:
            match.rows[row] = who[0]
        else:
            match.unmatched += who
            match.warnings.append(f"roster line {roster.lines[row]} ({label(roster.rows[row])}) "
                                  f"matches several students: {', '.join(who)}; none exported")
    for i, row in enumerate(roster.rows):
        if i not in claimed:
            match.unclaimed.append(i)
            match.warnings.append(f"roster line {roster.lines[i]} ({label(row)}): no submission")
    return match


LTI_USER_ID = "LTI User ID"


@dataclass
class LtiUsers:
    """Gradebook student -> the LMS's LTI user id (the `sub` of its launches), plus warnings."""

    ids: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def lti_user_ids(students: Iterable[str], path: str | Path, match_column: str) -> LtiUsers:
    """Read a roster with an `LTI User ID` column and the gradebook's ids in `match_column`;
    a matched row without an LTI user id is warned about, like any other unmatched student."""
    roster = read_roster(path, required=(match_column, LTI_USER_ID))
    match = match_students(students, roster, [match_column])
    users = LtiUsers(warnings=match.warnings)
    for row, student in sorted(match.rows.items()):
        lti_id = roster.rows[row][LTI_USER_ID]
        if lti_id:
            users.ids[student] = lti_id
        else:
            users.warnings.append(f"roster line {roster.lines[row]}: student {student!r} has no {LTI_USER_ID}")
    return users


def _index(roster: Roster, key: str, warnings: list[str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, row in enumerate(roster.rows):
        if row.get(key):
            index.setdefault(row[key], []).append(i)
    for value, rows in index.items():
        if len(rows) > 1:
            lines = ", ".join(str(roster.lines[r]) for r in rows)
            warnings.append(f"roster: duplicate {key} {value!r} on lines {lines}")
    return index


def _find(student: str, keys: Sequence[str], index: dict[str, dict[str, list[int]]],
          roster: Roster, warnings: list[str]) -> int | None:
    for key in keys:
        rows = index[key].get(student.strip())
        if rows and len(rows) == 1:
            return rows[0]
        if rows:
            warnings.append(f"student {student!r}: {key} is ambiguous in the roster; not exported")
            return None
    warnings.append(f"student {student!r} has a grade but is not in the roster "
                    f"{Path(roster.path).name} (looked in {', '.join(keys) or 'no id column'})")
    return None
