"""Grading step: the typed result of grading one zip (schema 2), built once and read by every later step.

Scoring builds it, the notebook run fills its notebook section, the gradebook stores its JSON
form and adds what counts (overrides, manual grades, the counted total); terminal, pages, exports
and LTI read it. `to_json` is the document written to disk (docs/result-schema.json describes
it); `from_json` reads schema 2 and the schema-1 documents older gradebooks hold.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 2
FAULT = "error"  # result status: the grader failed, the submission is not graded


@dataclass
class CaseTime:
    """What a case's run used and was allowed, measured outside the sandbox (seconds).

    `cpu_limit_s` is None when only the wall clock limited the case (fixed limits without a CPU
    figure); `wall_limit_s` stops a case that waits, `busy_wall_limit_s` (when set) one that
    still computes on an overloaded machine; `reference_cpu_s` is the reference's cost for the
    case's group on this machine. `wait_s` is the time the case's tasks were runnable but waiting
    for a CPU (cgroup cpu.pressure, else /proc schedstat; None where neither is readable, and in
    results made before it was measured): a case demanding a CPU for under 5 % of its wall time
    (`cpu_s` + `wait_s`) was waiting, not computing.
    """

    cpu_s: float | None
    wall_s: float | None
    cpu_limit_s: float | None
    wall_limit_s: float
    busy_wall_limit_s: float | None = None
    reference_cpu_s: float | None = None
    wait_s: float | None = None


@dataclass
class CaseOutcome:
    """One case's verdict as the student and the TA read it."""

    name: str
    hidden: bool
    passed: bool
    status: str  # passed | failed | error | timeout | memory | not_implemented | ungradable
    metric: str | None
    value: float | None
    threshold: float | None
    points: float
    max_points: float
    params: dict[str, Any]
    message: str
    extras: dict[str, Any]
    time: CaseTime | None = None


@dataclass
class Override:
    """A TA's score replacing the engine's for one question (the gradebook's manual import)."""

    score: float | None
    original: float
    grader: str | None
    comment: str | None = None


@dataclass
class QuestionResult:
    """One question: its points (the sum of its passed cases'), a status a TA reads, its cases."""

    id: str
    title: str
    score: float
    max_score: float
    status: str  # passed | partial | failed | error | timeout | memory | not_implemented | ungradable
    message: str
    duration_s: float
    stdout: str
    cases: list[CaseOutcome]
    override: Override | None = None


@dataclass
class ManualResult:
    """A manual item: scored by a TA, or by the notebook run for the assignment's `auto` item."""

    id: str
    title: str
    max_score: float
    score: float | None = None
    comment: str | None = None
    grader: str | None = None


@dataclass
class NotebookSection:
    """The submitted notebook's run (docs/architecture.md, "The notebook section")."""

    file: str
    status: str  # passed | failed | timeout | crashed | malformed | missing | error
    ran_cleanly: bool
    message: str
    first_failure: dict[str, Any] | None
    elapsed_s: float
    cells_executed: int
    code_cells: int
    edited_cells: list[int]
    added_cells: list[int]
    truncated_cells: list[int]
    warnings: list[str]
    data: str | None
    env: dict[str, str]
    cell_timeout_s: float
    total_timeout_s: float
    log: str | None = None  # status `error`: the end of the runner's stderr, for whoever fixes the grader


@dataclass
class Files:
    """Which declared files the zip held (name -> path in the zip), lacked, could not use, and ignored."""

    found: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


@dataclass
class SandboxSummary:
    """The isolation the run had (`bwrap` or `rlimits-only`) and the assignment's default limits."""

    kind: str | None
    warning: str | None = None
    unprivileged_uid: bool | None = None
    memory_cgroup: int | None = None
    limits: dict[str, Any] = field(default_factory=dict)


@dataclass
class Fault:
    """A grader fault: the exception's type, and its traceback for whoever fixes the grader."""

    type: str
    traceback: str


@dataclass
class Counted:
    """What the gradebook counts for this attempt under its policy (late penalty, manual grades)."""

    attempt_id: int
    score: float
    max_score: float
    auto_score: float
    manual_score: float
    days_late: int
    factor: float
    policy: str
    attempts: int
    notes: list[str] = field(default_factory=list)


@dataclass
class Result:
    """The result of grading one submission: `graded` (any score), `ungradable` (the zip's fault, with a
    one-line fix) or `error` (the grader's fault: no score, never recorded as a grade)."""

    assignment: str
    assignment_version: str
    submission: str
    sha256: str
    student: str | None
    status: str  # graded | ungradable | error
    message: str
    score: float | None  # None for a grader fault: nothing downstream can show it as a 0
    max_score: float
    seed: int | None
    data: str | None
    sandbox: SandboxSummary
    started_at: str
    duration_s: float
    files: Files
    questions: list[QuestionResult]
    manual: list[ManualResult]
    notebook: NotebookSection | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None
    counted: Counted | None = None
    schema: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        """The document (plain JSON types); optional sections left out when absent, as schema 1 did."""
        doc = dataclasses.asdict(self)
        for name in ("fault", "counted"):
            if doc[name] is None:
                del doc[name]
        for question in doc["questions"]:
            if question["override"] is None:
                del question["override"]
        for item in doc["manual"]:
            if item["grader"] is None:
                del item["grader"]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Result:
        """A result document of schema 2, or of schema 1 (upgraded: its notebook's `max_train` becomes `env`)."""
        if doc.get("schema") not in (1, SCHEMA_VERSION):
            raise ValueError(f"unsupported result schema {doc.get('schema')!r}")
        doc = {**doc, "schema": SCHEMA_VERSION}
        notebook = doc.get("notebook")
        if isinstance(notebook, dict) and "max_train" in notebook:
            rest = {k: v for k, v in notebook.items() if k != "max_train"}
            doc["notebook"] = {**rest, "env": {"INTRO2AI_MAX_TRAIN": str(notebook["max_train"])}}
        return _build(cls, doc)


def _build(kind: Any, value: Any) -> Any:
    """`value` (parsed JSON) as the type `kind`: dataclasses field by field, lists and optionals through."""
    if value is None:
        return None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        real = [a for a in args if a is not type(None)]
        return _build(real[0], value) if len(real) == 1 else value
    if origin is list:
        return [_build(args[0], item) for item in value]
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        known = {f.name for f in dataclasses.fields(kind)}
        return kind(**{k: _build(hints[k], v) for k, v in value.items() if k in known})
    return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `Result.to_json()` documents, derived from the dataclasses (docs/result-schema.json)."""
    definitions: dict[str, Any] = {}
    root = _schema_of(Result, definitions)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "intro2ai autograder result",
            "description": " ".join((Result.__doc__ or "").split()),
            **definitions.pop(root["$ref"].rsplit("/", 1)[1]), "$defs": definitions}  # fmt: skip


_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _schema_of(kind: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_of(a, definitions) for a in args]}
    if kind is type(None):
        return {"type": "null"}
    if origin is list:
        return {"type": "array", "items": _schema_of(args[0], definitions)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema_of(args[1], definitions) if args[1] is not Any else {}}
    if kind is Any:
        return {}
    if kind is float:
        return {"type": "number"}
    if kind in _JSON_TYPES:
        return {"type": _JSON_TYPES[kind]}
    if dataclasses.is_dataclass(kind):
        name = kind.__name__
        if name not in definitions:
            definitions[name] = {}  # recursion guard
            hints = typing.get_type_hints(kind)
            fields = dataclasses.fields(kind)
            optional = {"fault", "counted", "override", "grader"}
            definitions[name] = {
                "type": "object",
                "properties": {f.name: _schema_of(hints[f.name], definitions) for f in fields},
                "required": [f.name for f in fields if f.name not in optional],
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"no JSON schema for {kind!r}")
