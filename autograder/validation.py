"""Declaration step: every name an assignment.toml refers to is checked when it loads, one line per problem.

A typo in a probe, judge or task name would otherwise surface inside a sandbox run and be
charged to a student. The checks read `checks.py` and `driver.py` as source (ast), never import
them: a student's machine (`grade pack`, `grade check`) has no reference package to import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

from autograder.assignment import (
    BUILTIN_JUDGE_NAMES,
    Assignment,
    AssignmentError,
    Case,
    Limits,
    TimePolicy,
    notebook_settings,
)

LIMIT_KEYS = frozenset(f.name for f in fields(Limits))
POLICY_KEYS = frozenset(f.name for f in fields(TimePolicy))


def defined_names(path: Path) -> frozenset[str]:
    """Top-level names a Python file defines (functions, classes, assignments, imports), read with ast."""
    if not path.is_file():
        return frozenset()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)


def problems(assignment: Assignment) -> list[str]:
    """Every problem of the declaration, each one line naming the file and the key."""
    toml = assignment.root / "assignment.toml"
    found = [*_files(assignment), *_questions(assignment), *_declared_tables(assignment)]
    return [f"{toml}: {line}" for line in found]


def check(assignment: Assignment) -> Assignment:
    """The assignment when its declaration is sound; AssignmentError naming the first problem otherwise."""
    found = problems(assignment)
    if found:
        more = f" (and {len(found) - 1} more: run `grade validate -a {assignment.id}`)" if len(found) > 1 else ""
        raise AssignmentError(found[0] + more)
    return assignment


def _files(assignment: Assignment) -> Iterator[str]:
    for name in ("checks.py", "driver.py"):
        if not (assignment.root / name).is_file():
            yield f"{name} is missing from {assignment.root} (the assignment's {name})"
    names = [f.name for f in assignment.files]
    for name in {n for n in names if names.count(n) > 1}:
        yield f"[[files]] name = {name!r} is declared twice"
    shipped = assignment.reference_dir.is_dir()  # a student's install has no reference: nothing to release
    for key, rels in (("files", assignment.release_files), ("given", assignment.release_given),
                      ("notebooks", assignment.release_notebooks)):  # fmt: skip
        for rel in rels if shipped else ():
            if not (assignment.reference_dir / rel).exists():
                yield f"[release] {key}: {rel!r} is not in the reference folder {assignment.reference_dir}"
    for rel in assignment.release_given:
        if rel not in assignment.release_files:
            yield f"[release] given: {rel!r} is not one of [release] files"


def _questions(assignment: Assignment) -> Iterator[str]:
    checks = defined_names(assignment.root / "checks.py")
    tasks = defined_names(assignment.root / "driver.py")
    files = {f.name for f in assignment.files}
    ids = [q.id for q in assignment.questions]
    for qid in {i for i in ids if ids.count(i) > 1}:
        yield f"[[questions]] id = {qid!r} is declared twice"
    for question in assignment.questions:
        where = f"[[questions]] {question.id}"
        for name in question.needs:
            if name not in files:
                yield f"{where}: needs = {name!r} names no [[files]] entry (known: {', '.join(sorted(files))})"
        if question.hidden and question.hidden.generator not in checks:
            yield f"{where}: hidden.generator = {question.hidden.generator!r} is not defined in checks.py"
        explicit = sum(c.points for c in question.cases if c.points >= 0)
        if explicit > question.points + 1e-9:
            yield f"{where}: its cases' points add up to {explicit:g}, more than the question's {question.points:g}"
        for case in question.cases:
            yield from (f"{where} case {case.name!r}: {line}" for line in _case(case, checks, tasks, assignment))


def _case(case: Case, checks: frozenset[str], tasks: frozenset[str], assignment: Assignment) -> Iterator[str]:
    for key, name, known, file in (("task", case.task, tasks, "driver.py"), ("probe", case.probe, checks, "checks.py"),
                                   ("expect", "expect_" + case.expect, checks, "checks.py")):  # fmt: skip
        if name not in known:
            yield f"{key} = {name.removeprefix('expect_') if key == 'expect' else name!r}: no {name} in {file}"
    if case.judge not in BUILTIN_JUDGE_NAMES and case.judge not in checks:
        yield f"judge = {case.judge!r} is neither a built-in judge ({', '.join(BUILTIN_JUDGE_NAMES)}) nor defined in checks.py"
    if case.judge in BUILTIN_JUDGE_NAMES and case.threshold is None:
        yield f"judge = {case.judge!r} needs a threshold"
    if case.second_chance and case.second_chance.task not in tasks:
        yield f"second_chance.task = {case.second_chance.task!r}: no such function in driver.py"
    for key, keys, allowed in (("limits", case.limits, LIMIT_KEYS), ("time_limits", case.time_limits, POLICY_KEYS)):
        unknown = sorted(set(keys) - allowed)
        if unknown:
            yield f"{key}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(allowed))})"
    if case.target:
        for label, targets in assignment.data.targets.items() or [("", None)]:
            if targets is None or case.target not in targets.values:
                yield f"target = {case.target!r} is not in [data.targets.{label or '<data set>'}]"


def _declared_tables(assignment: Assignment) -> Iterator[str]:
    groups = {c.group for q in assignment.questions for c in q.cases}
    for group in assignment.training_groups:
        if group not in groups:
            yield f"[training] groups: {group!r} is no case's group (known: {', '.join(sorted(groups))})"
    data = assignment.data
    if data.sources and data.default and data.default not in data.sources:
        yield f"[data] default = {data.default!r} is not one of [data.sources] ({', '.join(data.sources)})"
    for label in data.targets:
        if data.sources and label not in data.sources:
            yield f"[data.targets.{label}]: {label!r} is not one of [data.sources] ({', '.join(data.sources)})"
    ids = [m.id for m in assignment.manual]
    for mid in {i for i in ids if ids.count(i) > 1}:
        yield f"[[manual]] id = {mid!r} is declared twice"
    try:
        notebook_settings(assignment)
    except AssignmentError as exc:
        yield str(exc).split(": ", 1)[-1]
