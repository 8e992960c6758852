"""Declaration step: reads `assignments/<id>/assignment.toml` into frozen plain objects; loads the parent-side checks.

An assignment is data: files, questions, cases, points, thresholds and limits. The only code it
brings is `checks.py` (parent side: probe inputs, reference outputs, custom judges) and
`driver.py` (sandbox side: calls into the student's package). Nothing here knows HW5.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS_DIR = REPO_ROOT / "assignments"
BUILTIN_JUDGE_NAMES = ("rel_error",)  # judges a case may name without checks.py (grading/judge.py has each)
MANIFEST_NAME = "MANIFEST.json"  # a packed zip's record: assignment id, version, file digests (`grade pack`)


class AssignmentError(Exception):
    """The declaration is wrong: names the file and what to fix."""


_KINDS = ("python", "notebook")


@dataclass(frozen=True)
class FileSpec:
    """One file a student submits, as declared in assignment.toml `[[files]]`."""

    name: str
    dest: str
    kind: str = "python"
    required: bool = True
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        dest = PurePosixPath(self.dest)
        if self.kind not in _KINDS:
            raise ValueError(f"file {self.name!r}: kind must be one of {_KINDS}, not {self.kind!r}")
        if not dest.parts or dest.is_absolute() or ".." in dest.parts or "\\" in self.dest:
            raise ValueError(
                f"file {self.name!r}: dest must be a relative path inside the workspace, not {self.dest!r}"
            )

    def rank(self, basename: str) -> int | None:
        """0 for the exact name, 1 for an alias, None otherwise: the exact name wins over a glob."""
        if basename == self.name:
            return 0
        if any(fnmatch.fnmatchcase(basename, alias) for alias in self.aliases):
            return 1
        return None


@dataclass(frozen=True)
class Limits:
    """Per sandbox-run resource limits (isolate-style: every limit is a number).

    `cpu_s` is the time limit proper: CPU seconds one case may consume, summed over every process
    of its sandbox, so a busy machine never makes code "too slow". `timeout_s` is the wall-clock
    safety net (a sleeping or blocked case uses no CPU). With a `[time_limits]` policy both are
    derived per case from the reference's own cost (`time_limits.py`); these are the fallback.
    """

    timeout_s: float = 20.0
    cpu_s: float | None = None  # None: timeout_s x blas_threads
    memory_mb: int = 2048
    processes: int = 16
    file_size_mb: int = 16
    open_files: int = 64
    output_mb: int = 64
    stdout_kb: int = 64
    tmp_mb: int = 64
    blas_threads: int = 1

    def with_overrides(self, **overrides: Any) -> Limits:
        known = {k: v for k, v in overrides.items() if k in self.__dataclass_fields__}
        return replace(self, **known)

    @property
    def cpu_limit_s(self) -> float:
        return self.cpu_s if self.cpu_s is not None else self.timeout_s * max(1, self.blas_threads)


@dataclass(frozen=True)
class TimePolicy:
    """How a case's time limits follow from the reference's CPU cost on this machine (`[time_limits]`).

    CPU limit = max(floor_s, multiple x reference CPU s); wall-clock safety net = wall_multiple x
    CPU limit + wall_slack_s, for a case that waits instead of computing; a case still computing
    is stopped by the wall clock only at busy_wall_multiple x that net (a machine too busy to
    grade: a grader fault, never "too slow"). A case's `timeout_hint` ("use the fast layers") is
    shown only when the case used at least hint_multiple x the reference's CPU time.
    """

    multiple: float = 3.0
    floor_s: float = 2.0
    wall_multiple: float = 3.0
    wall_slack_s: float = 10.0
    busy_wall_multiple: float = 5.0
    hint_multiple: float = 3.0

    def with_overrides(self, **overrides: Any) -> TimePolicy:
        unknown = set(overrides) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"time_limits: unknown key(s) {', '.join(sorted(unknown))}")
        return replace(self, **{k: float(v) for k, v in overrides.items()})


@dataclass(frozen=True)
class SecondChance:
    """A retry in a separate run when a case fails on the reference-built input.

    `task` is the driver task that builds the input with the student's own code instead (e.g. a
    backward pass on the cache of the student's forward); `builds_with` names the function of
    another question it calls, so a failure there is reported as such.
    """

    task: str
    builds_with: str


@dataclass(frozen=True)
class Case:
    """One probe of a question: the function names that build, run and judge it, and its points."""

    name: str
    task: str
    probe: str
    expect: str
    judge: str
    params: dict[str, Any]
    points: float
    threshold: float | None = None
    hidden: bool = False
    group: str = ""
    limits: dict[str, Any] = field(default_factory=dict)
    timeout_hint: str = ""
    time_limits: dict[str, float] = field(default_factory=dict)  # TimePolicy overrides for this case
    second_chance: SecondChance | None = None
    target: str = ""  # the name of the [data.targets] threshold its judge uses


@dataclass(frozen=True)
class HiddenSpec:
    generator: str
    count: int


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    points: float
    needs: tuple[str, ...]
    cases: tuple[Case, ...]
    hidden: HiddenSpec | None
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ManualItem:
    id: str
    title: str
    points: float


@dataclass(frozen=True)
class Targets:
    """Named thresholds calibrated for one data set (`[data.targets.<set>]`), and how they were measured.

    A case names the one its judge uses (`target = "..."`); checks read `context.targets[case.target]`.
    """

    values: dict[str, float]
    source: str = ""

    def __getitem__(self, name: str) -> float:
        return self.values[name]


@dataclass(frozen=True)
class DataSpec:
    """The `[data]` table: where training data comes from and the targets calibrated on each set.

    `env` is the environment variable that picks a source when `--data` is not given (the same
    variable the course package reads); `sources` names and describes each source students and
    staff may pick; `targets` are keyed by the label the checks' `describe_data` gives a source.
    """

    default: str = ""
    env: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    targets: dict[str, Targets] = field(default_factory=dict)

    def pick(self, given: str | None) -> str | None:
        """The source asked for: `given` (`--data`), else the `env` variable; None means `default`."""
        return given or (os.environ.get(self.env) if self.env else None) or None

    def with_target(self, name: str, value: float) -> DataSpec:
        """The same with one target set to `value` on every data set (tests, calibration)."""
        targets = {k: Targets({**t.values, name: value}, t.source) for k, t in self.targets.items()}
        return replace(self, targets=targets)


@dataclass(frozen=True)
class Hints:
    """`[hints]`: assignment-specific advice the engine adds to a classic error's explanation.

    `shape`: after "Array shapes do not match" (e.g. the output-size formula of a convolution).
    """

    shape: str = ""


LEVELS = ("visible", "after_due_date", "after_published", "hidden")  # Gradescope's visibility levels


@dataclass(frozen=True)
class Shown:
    """What a student-facing page may show now, resolved from a `Visibility` (staff see everything)."""

    hidden_inputs: bool
    stdout: bool
    note: str = ""


@dataclass(frozen=True)
class Visibility:
    """The `[visibility]` table: when students see a hidden case's inputs (its parameters and the
    result's seed, which regenerates them) and the output their code printed. Staff's own result
    document always keeps everything; student pages, Gradescope results and exports follow this."""

    hidden_inputs: str = "hidden"
    stdout: str = "visible"
    due: dt.datetime | None = None

    def __post_init__(self) -> None:
        for name in ("hidden_inputs", "stdout"):
            if getattr(self, name) not in LEVELS:
                raise ValueError(f"[visibility] {name} = {getattr(self, name)!r}: use one of {', '.join(LEVELS)}")
        if self.due is not None and (not isinstance(self.due, dt.datetime) or self.due.tzinfo is None):
            raise ValueError("[visibility] due must be a date-time with a timezone, e.g. 2026-12-01T23:59:00+09:00")

    def shown(self, due: dt.datetime | None = None, published: bool = False,
              now: dt.datetime | None = None) -> Shown:
        """Resolve the levels at `now`: `due` (e.g. `--due`) overrides the table's, `published`
        is the staff's explicit word that grades are out."""
        due = due or self.due
        now = now or dt.datetime.now(dt.timezone.utc)
        is_open = {"visible": True, "after_due_date": due is not None and now >= due,
                   "after_published": published, "hidden": False}
        inputs, stdout = is_open[self.hidden_inputs], is_open[self.stdout]
        return Shown(inputs, stdout, "" if inputs else _withheld(self.hidden_inputs, due))


def _withheld(level: str, due: dt.datetime | None) -> str:
    when = {"after_due_date": f"after the due date ({due.isoformat()})" if due else "after the due date",
            "after_published": "once grades are published"}.get(level)
    return "Inputs of hidden cases are not shown" + (f"; they will be shown {when}." if when else ".")


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    version: str
    package: str
    root: Path
    repo_root: Path
    reference_dir: Path
    template_dir: Path
    release_zip: str
    release_files: tuple[str, ...]
    release_notebooks: tuple[str, ...]
    files: tuple[FileSpec, ...]
    questions: tuple[Question, ...]
    manual: tuple[ManualItem, ...]
    limits: Limits
    data: DataSpec = DataSpec()
    training_groups: tuple[str, ...] = ()  # [training] groups: what --no-training leaves out
    notebook: dict[str, Any] = field(default_factory=dict)  # the [notebook] table (notebook_run.py reads it)
    curves: dict[str, str] = field(default_factory=dict)  # [report.curves]: a case extra -> its plot's label
    hints: Hints = Hints()
    visibility: Visibility = Visibility()
    time_policy: TimePolicy | None = None  # [time_limits]; None: the fixed [limits] apply
    release_given: tuple[str, ...] = ()  # [release] given: earlier solutions shipped whole as given code

    def case_policy(self, case: Case) -> TimePolicy | None:
        return self.time_policy.with_overrides(**case.time_limits) if self.time_policy else None

    @property
    def max_score(self) -> float:
        """Points of the automatically graded questions; manual items carry their own maxima."""
        return sum(q.points for q in self.questions)

    @property
    def driver_path(self) -> Path:
        return self.root / "driver.py"

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def checks(self) -> ModuleType:
        """The parent-side checks module (trusted code), imported once per process.

        Its `import <package>` statements reach this assignment's reference package (several
        assignments name their package alike), through `own_package`.
        """
        name = f"_assignment_checks_{self.id}"
        if name not in sys.modules:
            with own_package(self.package, path=self.reference_dir):
                import_file(name, self.root / "checks.py")
        return sys.modules[name]


@dataclass(frozen=True)
class NotebookSettings:
    """The assignment's `[notebook]` table: its data and environment, time budget, output caps, the auto item.

    `env` holds the variables the run sets for the course package (e.g. which data set, how many
    training images); `data` names that data set in the result.
    """

    file: FileSpec
    template: Path
    auto: str | None = None  # the [[manual]] item scored by "ran cleanly"
    data: str = ""
    env: dict[str, str] = field(default_factory=dict)
    cell_timeout_s: int = 120
    total_timeout_s: int = 600
    startup_timeout_s: int = 60
    cell_output_kb: int = 1024
    notebook_mb: int = 16
    limits: dict[str, Any] = field(default_factory=dict)


def notebook_settings(assignment: Assignment) -> NotebookSettings | None:
    """The settings for the assignment's notebook file, or None when it declares none."""
    spec = next((f for f in assignment.files if f.kind == "notebook"), None)
    if spec is None:
        return None
    path = assignment.root / "assignment.toml"
    raw = assignment.notebook
    known = {f.name for f in fields(NotebookSettings)} - {"file", "template"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise AssignmentError(f"{path}: unknown [notebook] keys {unknown} (known: {sorted(known)})")
    settings = NotebookSettings(spec, assignment.template_dir / spec.dest, **raw)
    if settings.auto and settings.auto not in {m.id for m in assignment.manual}:
        raise AssignmentError(f"{path}: [notebook] auto = {settings.auto!r} names no [[manual]] item")
    return settings


def available_assignments(base: Path = ASSIGNMENTS_DIR) -> list[str]:
    """The assignments discovered: every `assignments/<id>/assignment.toml`."""
    return sorted(p.parent.name for p in base.glob("*/assignment.toml"))


def default_assignment(base: Path = ASSIGNMENTS_DIR) -> str | None:
    """The one assignment when only one is discovered; None when there are several (name one)."""
    known = available_assignments(base)
    return known[0] if len(known) == 1 else None


def load_assignment(name_or_path: str | Path, base: Path = ASSIGNMENTS_DIR, validate: bool = True) -> Assignment:
    """Load by id (`hw5_cnn`) or by a folder/file path holding `assignment.toml`.

    Every name the declaration refers to is checked here (`validation.py`), so that a typo is
    an AssignmentError naming the file and key, never a failed case charged to a student.
    """
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "assignment.toml"
    elif not path.is_file():
        path = base / str(name_or_path) / "assignment.toml"
    if not path.is_file():
        known = ", ".join(available_assignments(base)) or "none"
        raise AssignmentError(f"no assignment '{name_or_path}' (known: {known})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AssignmentError(f"{path}: {exc}") from exc
    try:
        assignment = _build(raw, path.parent.resolve())
    except (KeyError, TypeError, ValueError) as exc:
        raise AssignmentError(f"{path}: bad or missing entry {exc}") from exc
    if validate:
        from autograder.validation import check  # the declaration's own step, built on these types

        check(assignment)
    return assignment


def _build(raw: dict[str, Any], root: Path) -> Assignment:
    meta = raw["assignment"]
    repo_root = root.parent.parent
    limits = Limits().with_overrides(**raw.get("limits", {}))
    data = raw.get("data", {})
    return Assignment(
        id=meta["id"],
        title=meta["title"],
        version=str(meta["version"]),
        package=meta["package"],
        root=root,
        repo_root=repo_root,
        reference_dir=repo_root / meta.get("reference", "reference"),
        template_dir=repo_root / meta.get("template", f"student_template/{meta['id']}"),
        release_zip=meta.get("release_zip", f"{meta['id']}_student.zip"),
        release_files=tuple(raw.get("release", {}).get("files", ())),
        release_notebooks=tuple(raw.get("release", {}).get("notebooks", ())),
        release_given=tuple(raw.get("release", {}).get("given", ())),
        files=tuple(_file_spec(f) for f in raw.get("files", ())),
        questions=tuple(_question(q) for q in raw.get("questions", ())),
        manual=tuple(ManualItem(m["id"], m["title"], float(m.get("points", 0))) for m in raw.get("manual", ())),
        limits=limits,
        data=_data_spec(data),
        training_groups=tuple(raw.get("training", {}).get("groups", ())),
        notebook=dict(raw.get("notebook", {})),
        curves=dict(raw.get("report", {}).get("curves", {})),
        hints=Hints(**raw.get("hints", {})),
        visibility=Visibility(**raw.get("visibility", {})),
        time_policy=TimePolicy().with_overrides(**raw["time_limits"]) if "time_limits" in raw else None,
    )


def _data_spec(raw: dict[str, Any]) -> DataSpec:
    targets = {
        name: Targets({k: float(v) for k, v in table.items() if k != "source"}, table.get("source", ""))
        for name, table in raw.get("targets", {}).items()
    }
    return DataSpec(raw.get("default", ""), raw.get("env", ""), dict(raw.get("sources", {})), targets)


def _file_spec(raw: dict[str, Any]) -> FileSpec:
    kind = raw.get("kind", "python")
    aliases = tuple(raw.get("aliases", ("*.ipynb",) if kind == "notebook" else ()))
    return FileSpec(
        name=raw["name"], dest=raw["dest"], kind=kind, required=bool(raw.get("required", True)), aliases=aliases
    )


_CASE_KEYS = ("task", "probe", "expect", "judge", "threshold", "limits", "time_limits", "second_chance", "target")


def _question(raw: dict[str, Any]) -> Question:
    defaults = {k: raw[k] for k in _CASE_KEYS if k in raw}
    hidden = raw.get("hidden")
    public = [make_case(c, defaults, raw["id"], hidden=False) for c in raw.get("cases", ())]
    question = Question(
        id=raw["id"],
        title=raw["title"],
        points=float(raw["points"]),
        needs=tuple(raw.get("needs", ())),
        cases=tuple(public),
        hidden=HiddenSpec(hidden["generator"], int(hidden["count"])) if hidden else None,
        defaults=defaults,
    )
    return question


def make_case(raw: dict[str, Any], defaults: dict[str, Any], qid: str, hidden: bool) -> Case:
    """A case from its declaration; keys it lacks come from the question's defaults."""
    merged = {**defaults, **raw}
    threshold = merged.get("threshold")
    retry = merged.get("second_chance")
    return Case(
        name=merged["name"],
        task=merged["task"],
        probe=merged["probe"],
        expect=merged["expect"],
        judge=merged["judge"],
        params=dict(merged.get("params", {})),
        points=float(merged.get("points", -1.0)),
        threshold=None if threshold is None else float(threshold),
        hidden=hidden,
        group=merged.get("group", qid),
        limits=dict(merged.get("limits", {})),
        timeout_hint=merged.get("timeout_hint", ""),
        time_limits=dict(merged.get("time_limits", {})),
        second_chance=SecondChance(retry["task"], retry["builds_with"]) if retry else None,
        target=merged.get("target", ""),
    )


@contextmanager
def own_package(package: str, path: Path | None = None,
                finder: importlib.abc.MetaPathFinder | None = None) -> Iterator[None]:  # fmt: skip
    """While active, `import <package>...` resolves in `path` (or through `finder`) only; sys.modules is put back after.

    The one way checks modules reach a reference package: the grader imports the checks of
    several assignments whose packages share a name, and `grade check` answers the imports with
    placeholders. A checks function that needs a fresh import of its reference at call time uses
    it too (`own_package("intro2ai", path=REFERENCE)`). Modules imported inside keep working
    after: they hold their own references.
    """
    ours = lambda name: name == package or name.startswith(package + ".")  # noqa: E731
    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    hooks = [(sys.path, str(path))] if path is not None else [(sys.meta_path, finder)]
    for where, hook in hooks:
        where.insert(0, hook)
    try:
        yield
    finally:
        for where, hook in hooks:
            where.remove(hook)
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


def import_file(module_name: str, path: Path) -> ModuleType:
    """The Python file `path` as the module `module_name`, executed once per process.

    The one loader for files that are not on sys.path: an assignment's checks.py, a driver.py the
    parent runs on the reference (its checks, the calibration scripts), a benchmark module a test
    imports. Registered in sys.modules before it runs (as an import does, so a dataclass or a
    pickled class finds its module) and removed again if it raises: a failed import is retried,
    never half-initialised.
    """
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise AssignmentError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
