"""Course step: LMS bulk downloads: owns mapping the files of a class folder to student ids (Canvas, Moodle, plain).

Layouts, as the LMSs write them (unzip the bulk download first):

- Canvas ("Download Submissions"): one flat file per uploaded file,
  `<name>_[LATE_]<user id>_<file id>_<original name>`; `<name>` is the sortable name lower-cased
  with non-word characters removed; anonymous grading writes `anon_<anonymous id>` for the user
  id and no name. The student id is Canvas's numeric user `ID` (the `ID` column of a Canvas
  gradebook export) or `anon_...`. A resubmitted file keeps its name with `-1`, `-2` appended.
- Moodle ("Download all submissions"): a folder per student and plugin,
  `<Full Name>_<participant id>_assignsubmission_file[_]/<original name>` (Moodle 3.1+), or flat
  files `<Full Name>_<participant id>_assignsubmission_file_<original name>`. The number is
  Moodle's participant id for the assignment (the `Participant NNN` of its grading worksheet),
  not the user's ID number. Other plugins' folders (online text, comments) are ignored.
- Plain: `<student id>.zip` at the top level.

A student whose files include a zip is graded on the zip(s) only; their other files are listed
as ignored. Anything that fits no layout is reported, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CANVAS = re.compile(
    r"^(?:(?!LATE_|anon_)(?P<name>.*?)_)?(?P<late>LATE_)?"
    r"(?P<id>\d+|anon_[A-Za-z0-9]+)_(?P<file_id>\d+)_(?P<original>.+)$"
)
MOODLE = re.compile(r"^(?P<name>[^_]+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)(?:_(?P<original>.*))?$")
PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
JUNK = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class Entry:
    """One file to grade for one student."""

    path: Path
    student: str
    layout: str  # canvas | moodle | plain
    late: bool = False  # Canvas marks late submissions in the name


@dataclass
class ClassFolder:
    """What `discover` found: entries to grade, files it could not map, files it left out."""

    entries: list[Entry] = field(default_factory=list)
    unmapped: list[tuple[Path, str]] = field(default_factory=list)  # (path, why)
    ignored: list[tuple[Path, str]] = field(default_factory=list)


def discover(folder: Path, reserved: frozenset[str] = frozenset()) -> ClassFolder:
    """Map every file under `folder` to a student; `reserved` are zip stems that are not student
    ids (names our own tools write, such as `submit`)."""
    found = ClassFolder()
    candidates: list[Entry] = []
    for path in sorted(folder.iterdir()):
        if _junk(path.name):
            continue
        if path.is_dir():
            candidates += _moodle_folder(path, found)
        elif path.is_file():
            entry = _file_entry(path, reserved)
            if entry is None:
                found.unmapped.append((path, _why_unmapped(path, reserved)))
            elif entry.layout == "moodle" and not _is_file_plugin(path.name):
                found.ignored.append((path, "not a file submission (Moodle online text or comments)"))
            else:
                candidates.append(entry)
    _keep_zips(candidates, found)
    return found


def _junk(name: str) -> bool:
    return name.startswith(".") or name in JUNK


def _file_entry(path: Path, reserved: frozenset[str]) -> Entry | None:
    moodle = MOODLE.match(path.name)
    if moodle and moodle["original"]:
        return Entry(path, moodle["id"], "moodle")
    canvas = CANVAS.match(path.name)
    if canvas:
        return Entry(path, canvas["id"], "canvas", late=bool(canvas["late"]))
    if path.suffix.lower() == ".zip" and PLAIN.match(path.stem) and path.stem not in reserved:
        return Entry(path, path.stem, "plain")
    return None


def _is_file_plugin(name: str) -> bool:
    match = MOODLE.match(name)
    return match is not None and match["plugin"] == "file"


def _moodle_folder(folder: Path, found: ClassFolder) -> list[Entry]:
    match = MOODLE.match(folder.name)
    if match is None or match["original"]:
        found.unmapped.append((folder, "a folder that is not Moodle's <Full Name>_<id>_assignsubmission_file"))
        return []
    files = [p for p in sorted(folder.rglob("*"))
             if p.is_file() and not any(_junk(part) for part in p.relative_to(folder).parts)]
    if match["plugin"] != "file":
        found.ignored += [(p, "not a file submission (Moodle online text or comments)") for p in files]
        return []
    if not files:
        found.unmapped.append((folder, "an empty Moodle submission folder"))
    return [Entry(p, match["id"], "moodle") for p in files]


def _why_unmapped(path: Path, reserved: frozenset[str]) -> str:
    if path.suffix.lower() == ".zip" and path.stem in reserved:
        return f"'{path.name}' is a generic name, not a student id: rename it <student id>.zip"
    if path.suffix.lower() == ".zip":
        return "the name is no student id (letters, digits, _ . @ - only) and fits no LMS layout"
    return "not a zip, and the name fits no LMS layout (Canvas, Moodle) to tell whose it is"


def _keep_zips(candidates: list[Entry], found: ClassFolder) -> None:
    """Grade a student's zips only when they sent one; otherwise their files (intake explains)."""
    with_zip = {e.student for e in candidates if e.path.suffix.lower() == ".zip"}
    for entry in candidates:
        if entry.student in with_zip and entry.path.suffix.lower() != ".zip":
            found.ignored.append((entry.path, f"not a zip; student {entry.student} also submitted a zip"))
        else:
            found.entries.append(entry)
