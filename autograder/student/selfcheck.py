"""Student step: student self-check (`grade check`): the public cases, judged exactly as the grader judges them.

Students never have the course reference, so `grade generate` ships `public_expected.npz` in the
starter code: for every public case the probe inputs and the reference's outputs (both already
printed in the public notebook), keyed to the case's declaration. `grade check` then runs the
assignment's own driver on the student's package in a plain child process (the grader's runner
and protocol, rlimits, no namespaces, no uid change: it is the student's own machine), and
validates and judges the outputs with the grader's verdict code and the checks module's judges.

The checks module imports the reference at its top; here it is loaded with every import of the
course package answered by placeholders that raise `ReferenceUnavailable` when used (modules the
starter code ships unchanged, such as the data loader, come from the working copy when their
hash matches). A case whose judge needs the reference (the training targets) is reported as
"checked after submission". Hidden cases are never generated here.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import json
import shutil
import sys
import tempfile
import types
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from autograder.assignment import Assignment, Case, Question, load_assignment, own_package
from autograder.grading.run import (
    CaseBudget,
    GraderFault,
    GradingContext,
    GroupRun,
    case_verdict,
)
from autograder.grading.scoring import CaseResult, question_status
from autograder.sandbox.command import Isolation
from autograder.sandbox.supervisor import CaseRecord, fixed_time

PUBLIC_EXPECTED = "public_expected.npz"
MANIFEST = "manifest.json"
SCHEMA = 1
PROBE_SEED = 0  # public cases without a seed of their own get their inputs from this one
LOCAL = Isolation("rlimits-only", None, None)  # grader's rlimits, no uid drop, no namespaces
AFTER_SUBMISSION = "after_submission"
HIDDEN_NOTE = "Hidden cases are graded after submission."
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "datasets", "build", ".ipynb_checkpoints")


class SelfCheckError(Exception):
    """The check cannot run: one line naming the file and the fix."""


class ReferenceUnavailable(Exception):
    """Check mode touched the course reference, which it never loads."""


# ------------------------------------------------------------------ the reference, blocked


class _Blocked:
    """Stands in for anything from the reference; calling it raises `ReferenceUnavailable`."""

    def __init__(self, name: str, why: str = "is course reference code, which `grade check` never loads") -> None:
        self._name, self._why = name, why

    def __getattr__(self, attr: str) -> _Blocked:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Blocked(f"{self._name}.{attr}", self._why)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ReferenceUnavailable(f"{self._name} {self._why}")


class _ReferenceBlocker(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers imports of the course package: given modules from files, all else placeholders."""

    def __init__(self, package: str, given: dict[str, Path | None]) -> None:
        self.package, self.given = package, given

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] != self.package:
            return None
        if self.given.get(fullname):
            return importlib.util.spec_from_file_location(fullname, self.given[fullname])
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = partial(self._attribute, spec.name)  # PEP 562
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Placeholders have no code."""

    def _attribute(self, owner: str, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        name = f"{owner}.{attr}"
        if self.given.get(name):
            return importlib.import_module(name)
        if name in self.given:
            rel = name.replace(".", "/") + ".py"
            return _Blocked(name, f"cannot be used: your {rel} differs from the starter code's; restore it")
        return _Blocked(name)


def blocked_checks(assignment: Assignment, given: dict[str, Path | None]) -> types.ModuleType:
    """A fresh copy of the assignment's checks module that cannot use the reference.

    `given` maps module names to the working copy's unchanged given files (None: changed).
    """
    name = f"_selfcheck_checks_{assignment.id}"
    spec = importlib.util.spec_from_file_location(name, assignment.root / "checks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with own_package(assignment.package, finder=_ReferenceBlocker(assignment.package, given)):
            spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def fingerprint(case: Case) -> str:
    """What the stored data depends on: a changed declaration makes a stale file detectable."""
    keys = {"task": case.task, "probe": case.probe, "expect": case.expect, "judge": case.judge,
            "params": case.params, "threshold": case.threshold}  # fmt: skip
    return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:16]



# ------------------------------------------------------------------ checking (student side)


@dataclass
class PublicData:
    """A working copy's public_expected.npz: the manifest and its arrays."""

    manifest: dict
    arrays: dict[str, np.ndarray]

    def entry(self, question: Question, case: Case) -> dict:
        for entry in self.manifest["cases"]:
            if entry["question"] == question.id and entry["case"] == case.name:
                if entry["fingerprint"] != fingerprint(case):
                    break
                return entry
        raise SelfCheckError(f"{PUBLIC_EXPECTED} does not match {question.id} '{case.name}' of this grader's "
                             "assignment: get the current starter code (or the current grader)")  # fmt: skip

    def prepared(self, entry: dict) -> tuple[dict, dict]:
        return ({n: self.arrays[k] for n, k in entry["inputs"].items()},
                {n: self.arrays[k] for n, k in entry["expected"].items()})  # fmt: skip


def read_public_data(path: Path) -> PublicData:
    if not path.is_file():
        raise SelfCheckError(f"no {PUBLIC_EXPECTED} in {path.parent} — run `grade check` in the folder of the "
                             "unpacked starter code (the one holding the package folder and the notebook)")  # fmt: skip
    try:
        data = parse_public_data(path.read_bytes())
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SelfCheckError(f"{path} is damaged ({exc}) — take it again from the starter code zip") from exc
    if data.manifest.get("schema") != SCHEMA:
        raise SelfCheckError(f"{path} has format {data.manifest.get('schema')!r}; this grader reads {SCHEMA}: "
                             "update the grader")  # fmt: skip
    return data


def parse_public_data(content: bytes) -> PublicData:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        arrays = {name[: -len(".npy")]: np.lib.format.read_array(io.BytesIO(archive.read(name)), allow_pickle=False)
                  for name in archive.namelist() if name.endswith(".npy")}  # fmt: skip
    return PublicData(manifest, arrays)


@dataclass
class QuestionCheck:
    question: Question
    results: list[CaseResult] = field(default_factory=list)

    @property
    def local(self) -> list[CaseResult]:
        return [r for r in self.results if r.status != AFTER_SUBMISSION]

    @property
    def status(self) -> str:
        return question_status(self.local) if self.local else AFTER_SUBMISSION


@dataclass
class CheckReport:
    assignment: Assignment
    working_copy: Path
    questions: list[QuestionCheck]

    @property
    def passed(self) -> int:
        return sum(r.passed for q in self.questions for r in q.local)

    @property
    def checked(self) -> int:
        return sum(len(q.local) for q in self.questions)

    @property
    def later(self) -> int:
        return sum(len(q.results) - len(q.local) for q in self.questions)


def check_working_copy(working_copy: Path, assignment: Assignment | None = None, with_training: bool = False,
                       data: str | None = None, progress: Callable[[str], None] | None = None) -> CheckReport:  # fmt: skip
    """Runs every public case of every question on the working copy's package; hidden cases never."""
    working_copy = working_copy.resolve()
    public = read_public_data(working_copy / PUBLIC_EXPECTED)
    if assignment is None:
        assignment = load_assignment(public.manifest["assignment"])
    if (public.manifest["assignment"], public.manifest["version"]) != (assignment.id, assignment.version):
        raise SelfCheckError(f"{PUBLIC_EXPECTED} is for {public.manifest['assignment']} version "
                             f"{public.manifest['version']}, the grader has {assignment.id} version {assignment.version}")  # fmt: skip
    package = working_copy / assignment.package
    if not package.is_dir():
        raise SelfCheckError(f"no {assignment.package}/ folder in {working_copy} — run `grade check` in the starter code folder")
    checks = blocked_checks(assignment, _given_modules(working_copy, public.manifest["given"]))
    context = GradingContext(assignment, public.manifest["seed"], assignment.data.pick(data))
    with tempfile.TemporaryDirectory(prefix="grade-check-") as tmp:
        copy = Path(tmp) / "package" / assignment.package
        shutil.copytree(package, copy, ignore=COPY_IGNORE)
        questions = [
            _check_question(q, index, public, checks, context, copy, Path(tmp) / q.id, with_training, progress)
            for index, q in enumerate(assignment.questions)
        ]
    return CheckReport(assignment, working_copy, questions)


def _given_modules(working_copy: Path, hashes: dict[str, str]) -> dict[str, Path | None]:
    """Module name -> the working copy's given file if it is still as shipped, else None."""
    modules: dict[str, Path | None] = {}
    for rel, digest in hashes.items():
        path = working_copy / rel
        same = path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest
        modules[rel[: -len(".py")].replace("/", ".")] = path if same else None
    return modules


def _check_question(question: Question, qindex: int, public: PublicData, checks: types.ModuleType, context: GradingContext,
                    package: Path, workdir: Path, with_training: bool,
                    progress: Callable[[str], None] | None) -> QuestionCheck:  # fmt: skip
    prepared: dict[str, tuple[dict, dict] | None] = {}
    later: dict[str, str] = {}
    for case in question.cases:
        entry = public.entry(question, case)
        if entry["mode"] == "local":
            prepared[case.name] = public.prepared(entry)
        elif with_training:
            try:  # inputs only: the run shows whether it finishes in time; the target needs the reference
                rng = np.random.default_rng([context.seed, qindex, 0, 1])
                prepared[case.name] = (getattr(checks, case.probe)(case.params, rng, context), None)
            except ReferenceUnavailable as exc:
                later[case.name] = f"checked after submission (cannot run here: {exc})"
        else:
            later[case.name] = "checked after submission (`grade check --with-training` runs it here to time it)"
    runnable = [c for c in question.cases if c.name in prepared]
    records: dict[str, CaseRecord] = {}
    for group in dict.fromkeys(c.group for c in runnable):
        if progress:
            progress(f"{question.id} {group}")
        members = [c for c in runnable if c.group == group]
        records.update(_run_group(members, prepared, package, context.assignment, workdir / group))
    results = []
    for case in question.cases:
        if case.name in later:
            results.append(CaseResult(case, False, AFTER_SUBMISSION, message=later[case.name]))
        else:
            results.append(_case_result(case, records.get(case.name), prepared[case.name], context, checks))
    return QuestionCheck(question, results)


def _case_result(case: Case, record: CaseRecord | None, prepared: tuple[dict, dict | None], context: GradingContext,
                 checks: types.ModuleType) -> CaseResult:  # fmt: skip
    limits = context.assignment.limits.with_overrides(**case.limits)
    if prepared[1] is not None:
        return case_verdict(case, record, prepared, context, checks, limits)
    if record is not None and record.status == "ok":
        return CaseResult(case, False, AFTER_SUBMISSION, message=f"ran to the end in {record.seconds:.1f} s (time "
                          f"limit {limits.timeout_s:g} s); its target is checked after submission")  # fmt: skip
    return case_verdict(case, record, prepared, context, checks, limits)  # a failure: never reaches the judge


def _run_group(cases: list[Case], prepared: dict[str, tuple], package: Path, assignment: Assignment,
               workdir: Path) -> dict[str, CaseRecord]:  # fmt: skip
    """The grader's group run (one child for the group, re-launched past a hung case), locally."""
    limits = assignment.limits.with_overrides(**cases[0].limits)
    budgets = {c.name: CaseBudget(fixed_time(limits)) for c in cases}
    run = GroupRun(prepared, budgets, package, limits, assignment, isolation=LOCAL)
    try:
        records, _ = run.records(cases, {c.name: c.task for c in cases}, workdir)
    except GraderFault as exc:  # no case started: the local runtime failed, say why on each case
        return {c.name: CaseRecord(c.name, "crashed", error={"type": "Error", "message": str(exc)}) for c in cases}
    return records


# ------------------------------------------------------------------ the report


LABELS = {"passed": "PASS", "failed": "FAIL", "not_implemented": "TODO", AFTER_SUBMISSION: "LATER"}
QUESTION_WORDS = {"passed": "passed", "not_implemented": "not implemented yet", AFTER_SUBMISSION: "checked after submission"}


def render_check(report: CheckReport) -> str:
    """What the student reads: per question and case, the verdict with the measured error and threshold."""
    a = report.assignment
    lines = [f"{a.title} (version {a.version}) — public checks of {report.working_copy}",
             "Same inputs, code and tolerances as the grader. " + HIDDEN_NOTE, ""]  # fmt: skip
    for q in report.questions:
        local = q.local
        tally = f" ({sum(r.passed for r in local)}/{len(local)} public cases passed)" if local else ""
        lines.append(f"{q.question.id} {q.question.title}: {QUESTION_WORDS.get(q.status, q.status)}{tally}")
        lines += [f"  {LABELS.get(r.status, r.status.upper()):<5} {r.case.name}{_measure(r)}" for r in q.results]
    later = f"; {report.later} more checked after submission" if report.later else ""
    lines += ["", f"Total: {report.passed} of {report.checked} public cases passed here{later}. {HIDDEN_NOTE}"]
    return "\n".join(lines)


def _measure(result: CaseResult) -> str:
    parts = []
    if result.value is not None and result.threshold is not None:
        parts.append(f"{result.metric} {result.value:.3g} (threshold {result.threshold:.3g})")
    if result.message and not result.passed:
        parts.append(result.message.removeprefix("not implemented yet: "))
    return (": " + " — ".join(parts)) if parts else ""
