"""Course step: similarity: owns comparing a class's submitted code, function by function, with each other and with public solutions.

Fingerprints come from copydetect (winnowing as in MOSS, over pygments tokens in which every
name becomes `V`, every function name `F` and comments and layout vanish), so renamed
variables, reformatting and new comments change nothing. Files are cut into functions with `ast`
and a function is compared only with the function of the same qualified name elsewhere, so
reordering changes nothing either. The template's given code (the same function in the student
template, stub and docstring included) is boilerplate: its fingerprints are removed first, so
what is left is what students wrote.

A pair's score is the share of the smaller side's own tokens found in the other, summed over the
functions they share and weighted by size. Reading the fragments is the instructor's job: a high
score is a reason to look, never a verdict.
"""

from __future__ import annotations

import ast
import csv
import io
import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.defaults import GUARANTEE_THRESHOLD, NOISE_THRESHOLD
from copydetect.utils import highlight_overlap
from markupsafe import escape

from autograder.assignment import Assignment
from autograder.course.lms_layout import discover
from autograder.grading.intake import UngradableSubmission, read_submission

K = NOISE_THRESHOLD  # copydetect's defaults: matches shorter than 25 filtered characters are noise
WINDOW = GUARANTEE_THRESHOLD - NOISE_THRESHOLD + 1
MIN_TOKENS = 40  # functions with fewer student-written tokens (after boilerplate) are not compared
CANDIDATES_PER_FUNCTION = 3  # public functions compared in full per student function, after a cheap prefilter
PUBLIC_PREFIX = "public:"


@dataclass(frozen=True)
class Unit:
    """One function of one source, fingerprinted with the template's version as boilerplate."""

    source: str  # student id, or "public:<path>"
    file: str
    name: str  # qualified: `conv_forward_naive`, `ThreeLayerConvNet.loss`
    code: str
    fingerprint: CodeFingerprint

    @property
    def tokens(self) -> int:
        return int(self.fingerprint.token_coverage)


@dataclass(frozen=True)
class FunctionMatch:
    """Two versions of one function and what they share."""

    name: str
    similarity: float  # share of the smaller side's tokens found in the other
    shared_tokens: int
    left: Unit
    right: Unit
    slices: tuple[np.ndarray, np.ndarray]

    def highlighted(self) -> tuple[str, str]:
        """Both codes as HTML-escaped text with the shared fragments in <mark>."""
        return tuple(_highlight(unit.code, piece) for unit, piece in zip((self.left, self.right), self.slices,
                                                                          strict=True))  # fmt: skip


@dataclass
class PairReport:
    left: str
    right: str
    functions: list[FunctionMatch] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "public" if self.right.startswith(PUBLIC_PREFIX) else "peer"

    @property
    def score(self) -> float:
        weights = [min(m.left.tokens, m.right.tokens) for m in self.functions]
        total = sum(weights)
        return sum(m.similarity * w for m, w in zip(self.functions, weights, strict=True)) / total if total else 0.0


@dataclass
class SimilarityReport:
    assignment: str
    students: list[str]
    public_sources: int
    pairs: list[PairReport]  # ranked, highest score first
    skipped: list[tuple[str, str]]  # (student or file, why)

    def above(self, threshold: float) -> list[PairReport]:
        return [p for p in self.pairs if p.score >= threshold]


class Fingerprinter:
    """Fingerprints code with the template's same-named function (and its whole file) as boilerplate."""

    def __init__(self, assignment: Assignment) -> None:
        self._boilerplate: dict[tuple[str, str], list[int]] = {}
        for spec in assignment.files:
            template = assignment.template_dir / spec.dest
            if spec.kind != "python" or not template.is_file():
                continue
            text = template.read_text(encoding="utf-8", errors="replace")
            whole = _fingerprint(text, []).hashes
            for name, code in functions_of(text):
                self._boilerplate[(spec.name, name)] = sorted(whole | _fingerprint(code, []).hashes)
            self._boilerplate[(spec.name, "")] = sorted(whole)

    def units(self, source: str, text: str, owner: Callable[[str], str | None]) -> list[Unit]:
        """The functions of `text` worth comparing; `owner` names the declared file a function
        belongs to (None: not one of the assignment's functions)."""
        found = []
        for name, code in functions_of(text):
            file = owner(name)
            if file is None:
                continue
            boilerplate = self._boilerplate.get((file, name)) or self._boilerplate.get((file, ""), [])
            unit = Unit(source, file, name, code, _fingerprint(code, boilerplate))
            if unit.tokens >= MIN_TOKENS:
                found.append(unit)
        return found


def functions_of(text: str) -> Iterator[tuple[str, str]]:
    """(qualified name, body) of every top-level function and method, the body without its
    signature and docstring (given text, never evidence); nothing for code that does not parse
    (the grader reports that elsewhere)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    lines = text.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, _body(node, lines)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield f"{node.name}.{item.name}", _body(item, lines)


def _body(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> str:
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):  # fmt: skip
        body = body[1:]
    if body[0].lineno == node.lineno:  # `def f(): return 1` on one line
        return ast.get_source_segment("".join(lines), body[0]) or ""
    return "".join(lines[body[0].lineno - 1 : node.end_lineno])


def compare_class(assignment: Assignment, folder: Path, public_dir: Path | None = None) -> SimilarityReport:
    """Every pair of students in `folder` (an LMS bulk download or <id>.zip files), and every
    student against the public solutions in `public_dir` (any .py / .ipynb files, recursively)."""
    printer = Fingerprinter(assignment)
    skipped: list[tuple[str, str]] = []
    students: dict[str, list[Unit]] = {}
    with tempfile.TemporaryDirectory(prefix="similarity-") as scratch:
        for student, files in _student_files(assignment, folder, Path(scratch), skipped):
            students[student] = [u for file, text in files for u in printer.units(student, text, lambda _, f=file: f)]
    public = list(_public_units(printer, assignment, public_dir)) if public_dir else []
    pairs = [_pair(a, students[a], b, students[b]) for a, b in itertools.combinations(sorted(students), 2)]
    pairs += [_best_public(student, units, public) for student, units in sorted(students.items())]
    ranked = sorted((p for p in pairs if p.functions), key=lambda p: (-p.score, p.left, p.right))
    sources = len({u.source for u in public})
    return SimilarityReport(assignment.id, sorted(students), sources, ranked, skipped)


def _student_files(assignment: Assignment, folder: Path, scratch: Path,
                   skipped: list[tuple[str, str]]) -> Iterator[tuple[str, list[tuple[str, str]]]]:  # fmt: skip
    """Each student's declared Python files, read through the grader's own safe intake: from their
    last zip (names sort by upload order in every LMS layout), or from the loose files they uploaded."""
    python_specs = [s for s in assignment.files if s.kind == "python"]
    entries: dict[str, list[Path]] = {}
    for entry in discover(folder).entries:
        entries.setdefault(entry.student, []).append(entry.path)
    for student, paths in sorted(entries.items()):
        zips = [p for p in paths if p.suffix.lower() == ".zip"]
        if not zips:
            loose = [(spec.name, p) for p in paths for spec in python_specs if spec.rank(p.name) is not None]
            if not loose:
                skipped.append((student, "no zip and no declared Python file among the uploaded files"))
                continue
            yield student, [(name, _read(path)) for name, path in loose]
            continue
        try:
            submission = read_submission(zips[-1], python_specs, scratch / student)
        except (UngradableSubmission, OSError) as exc:
            skipped.append((student, str(exc)))
            continue
        yield student, [(name, _read(path)) for name, path in submission.files.items()]


def _public_units(printer: Fingerprinter, assignment: Assignment, public_dir: Path) -> Iterator[Unit]:
    """Public solutions: a function counts under the declared file whose template defines its name."""
    owner = {name: spec.name for spec in assignment.files if spec.kind == "python"
             for name, _ in functions_of(_read(assignment.template_dir / spec.dest))}  # fmt: skip
    for path in sorted(p for p in public_dir.rglob("*") if p.is_file() and p.suffix in (".py", ".ipynb")):
        source = PUBLIC_PREFIX + path.relative_to(public_dir).as_posix()
        yield from printer.units(source, _python_text(path), owner.get)


def _pair(left: str, left_units: list[Unit], right: str, right_units: list[Unit]) -> PairReport:
    by_name = {(u.file, u.name): u for u in right_units}
    report = PairReport(left, right)
    for unit in left_units:
        other = by_name.get((unit.file, unit.name))
        if other is not None:
            match = _match(unit, other)
            if match is not None:
                report.functions.append(match)
    return report


def _best_public(student: str, units: list[Unit], public: list[Unit]) -> PairReport:
    """The public source closest to this student, judged on the functions it shares with them."""
    by_source: dict[str, PairReport] = {}
    for unit in units:
        same = [p for p in public if (p.file, p.name) == (unit.file, unit.name)]
        ranked = sorted(same, key=lambda p: -len(unit.fingerprint.hashes & p.fingerprint.hashes))
        for candidate in ranked[:CANDIDATES_PER_FUNCTION]:
            match = _match(unit, candidate)
            if match is not None:
                by_source.setdefault(candidate.source, PairReport(student, candidate.source)).functions.append(match)
    return max(by_source.values(), key=lambda p: p.score, default=PairReport(student, PUBLIC_PREFIX))


def _match(left: Unit, right: Unit) -> FunctionMatch | None:
    if not left.fingerprint.hashes & right.fingerprint.hashes:
        return None
    shared, (share_left, share_right), slices = compare_files(left.fingerprint, right.fingerprint)
    if not shared:
        return None
    return FunctionMatch(left.name, float(max(share_left, share_right)), int(shared), left, right, slices)


def _fingerprint(code: str, boilerplate: Iterable[int]) -> CodeFingerprint:
    return CodeFingerprint("code.py", K, WINDOW, boilerplate=list(boilerplate), fp=io.StringIO(code))


def _highlight(code: str, piece: np.ndarray) -> str:
    if piece.size == 0:
        return _escape(code)
    marked, _ = highlight_overlap(code, piece, "<mark>", "</mark>", escape_html=True)
    return marked


def _escape(text: str) -> str:
    return str(escape(text))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def _python_text(path: Path) -> str:
    """A .py file as it is; a notebook's code cells that parse, joined (magics and shell lines dropped)."""
    if path.suffix != ".ipynb":
        return _read(path)
    try:
        notebook = nbformat.reads(_read(path), as_version=4)
    except Exception:  # noqa: BLE001 - any unreadable public notebook is simply not a source
        return ""
    cells = [c.source for c in notebook.cells if c.cell_type == "code"]
    return "\n\n".join(c for c in cells if _parses(c))


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


# ------------------------------------------------------------------ outputs


def write_csv(report: SimilarityReport, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "left", "right", "kind", "score", "functions"])
        for rank, pair in enumerate(report.pairs, 1):
            functions = "; ".join(f"{m.name} {m.similarity:.2f}" for m in sorted(pair.functions, key=lambda m: -m.similarity))
            writer.writerow([rank, pair.left, pair.right, pair.kind, f"{pair.score:.3f}", functions])
    return path


def write_html(report: SimilarityReport, path: Path, threshold: float, limit: int) -> Path:
    """The ranked pairs, and for the first `limit` above `threshold` each shared function side by side."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("autograder", "reports/templates"), autoescape=select_autoescape())
    shown = report.above(threshold)[:limit]
    html = env.get_template("similarity.html").render(report=report, shown=shown, threshold=threshold)
    path.write_text(html, encoding="utf-8")
    return path
