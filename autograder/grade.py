"""The pipeline for one zip: intake → sandboxed runs → verdicts → scores → result document.

Generic: everything assignment-specific comes from the declaration and its checks module. A
crash, hang or hostile output costs the cases it touches; the run always ends in a result. A fault
of the grader itself (a sandbox that cannot start, an exception here) ends in an `error` result
with no score, never in points lost.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from autograder.assignment import Assignment, Case, Question, make_case
from autograder.intake import Submission, UngradableSubmission, read_submission, sha256_file
from autograder.judge import (
    BUILTIN_JUDGES,
    Invalid,
    Verdict,
    explain_error,
    finite_extras,
    validate,
)
from autograder.notebook_run import grade_notebook, notebook_settings, record_notebook
from autograder.sandbox.cgroup import cgroup_version
from autograder.sandbox.command import SandboxUnavailable, isolation_for, sandbox_uid
from autograder.sandbox.slots import sandbox_slot
from autograder.sandbox.supervisor import CaseRecord, RunOutcome, SandboxCase, run_cases
from autograder.scoring import (
    FAULT,
    CaseResult,
    question_result,
    result_document,
    split_points,
    ungradable_question,
)

MAX_RUNS_PER_GROUP = 3
UNFINISHED_MESSAGES = {
    "timeout": "did not finish within the time limit ({limit:g} s); the run was killed",
    "memory": "ran out of memory (limit {memory} MiB)",
    "output": "printed or returned too much output; the run was killed",
    "crashed": "the sandboxed process died before finishing this case",
}


@dataclass
class GradeOptions:
    seed: int | None = None
    data: str | None = None
    only: tuple[str, ...] = ()  # question ids; empty = all
    skip_groups: tuple[str, ...] = ()  # e.g. ("train",) to leave out the training target
    parallel: int = 1
    max_blas_threads: int | None = None  # cap on declared BLAS threads (batch workers use 1)
    workdir: Path | None = None
    student: str | None = None
    progress: Callable[[str], None] | None = None
    run_notebook: bool = True  # execute the submitted notebook (after the questions)
    artifacts_dir: Path | None = None  # where the executed notebook and its HTML go
    allow_weaker_isolation: bool = False  # grade with the rlimits-only runner where bubblewrap cannot work


class GraderFault(Exception):
    """The grader could not grade a submission (not the student's doing): the result is `error`."""


@dataclass
class GradingContext:
    """What checks functions may use: the assignment, the run's seed, the data source."""

    assignment: Assignment
    seed: int
    data: str | None

    @property
    def data_source(self) -> str:
        return self.data or self.assignment.data_default


def grade_zip(zip_path: Path, assignment: Assignment, options: GradeOptions) -> dict[str, Any]:
    """Grades one zip and returns the result document; never raises for a student's mistake."""
    started, clock = datetime.now(timezone.utc), time.monotonic()
    seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    owns_workdir = options.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="grade-")) if owns_workdir else options.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o711)  # a dropped sandbox uid may pass through (rlimits-only fallback), never list it
    common = {
        "submission": zip_path.name, "student": options.student, "seed": seed,
        "started_at": started.isoformat(timespec="seconds"),
    }  # fmt: skip
    try:
        common["sandbox"] = _sandbox_summary(assignment, options.allow_weaker_isolation)
        try:
            submission = read_submission(zip_path, assignment.files, workdir / "intake")
        except UngradableSubmission as exc:
            return result_document(
                assignment, **common, sha256=sha256_file(zip_path), status="ungradable", message=str(exc),
                data=None, duration_s=time.monotonic() - clock, files={}, questions=[],
            )  # fmt: skip
        context = GradingContext(assignment, seed, options.data)
        describe_data = getattr(assignment.checks(), "describe_data", None)
        data_label = describe_data(context) if describe_data else None
        package_dir = _build_workspace(submission, assignment, workdir / "workspace")
        questions = _grade_questions(submission, assignment, context, options, workdir, package_dir)
        section, artifacts = _grade_notebook(submission, assignment, options, workdir, package_dir)
        result = result_document(
            assignment, **common, sha256=submission.sha256, status="graded", message="",
            data=data_label, duration_s=time.monotonic() - clock, files=_files_summary(submission),
            questions=questions,
        )  # fmt: skip
        record_notebook(result, section, artifacts, notebook_settings(assignment))
        return result
    except Exception as exc:  # noqa: BLE001 - a grader fault is a result without a score, never points lost
        return _fault_result(zip_path, assignment, common, exc, time.monotonic() - clock)
    finally:
        if owns_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _grade_questions(
    submission: Submission, assignment: Assignment, context: GradingContext, options: GradeOptions, workdir: Path,
    package_dir: Path,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every (question, group) sandbox run goes to one pool, so a long group never waits behind another.

    Groups that declare several BLAS threads run afterwards, alone: OpenBLAS threads that share
    cores with another busy process spin instead of working (an epoch went from 0.06 to 0.5 s per
    batch in a measurement here).
    """
    plans = [
        (index, q, [c for c in expand_cases(q, index, context) if c.group not in options.skip_groups])
        for index, q in enumerate(assignment.questions)
        if not options.only or q.id in options.only
    ]
    groups = [
        (index, q, [c for c in cases if c.group == group])
        for index, q, cases in plans
        if not _unusable_files(q, submission)
        for group in dict.fromkeys(c.group for c in cases)
    ]
    shared = [g for g in groups if not _exclusive(g[2], assignment, options)]
    runs: dict[tuple[str, str], Any] = {}
    for batch, workers in ((shared, options.parallel), ([g for g in groups if g not in shared], 1)):
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for index, q, members in batch:
                group = members[0].group
                runs[(q.id, group)] = pool.submit(_grade_group, members, index, package_dir, context, options,
                                                  workdir / f"{q.id}-{group}")  # fmt: skip
    return [_assemble(q, cases, submission, runs) for _, q, cases in plans]


def _exclusive(members: list[Case], assignment: Assignment, options: GradeOptions) -> bool:
    threads = assignment.limits.with_overrides(**members[0].limits).blas_threads
    return threads > 1 and (options.max_blas_threads or threads) > 1


def _assemble(question: Question, cases: list[Case], submission: Submission, runs: dict) -> dict[str, Any]:
    blocked = _unusable_files(question, submission)
    if blocked:
        return ungradable_question(question, cases, blocked)
    results: list[CaseResult] = []
    stdout, seconds = [], 0.0
    for group in dict.fromkeys(c.group for c in cases):
        group_results, group_stdout, group_seconds = runs[(question.id, group)].result()
        results += group_results
        stdout.append(group_stdout)
        seconds += group_seconds
    order = {c.name: i for i, c in enumerate(cases)}
    results.sort(key=lambda r: order[r.case.name])
    return question_result(question, results, seconds, "".join(stdout))


def _grade_notebook(
    submission: Submission, assignment: Assignment, options: GradeOptions, workdir: Path, package_dir: Path
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Runs the notebook after the questions, so that it never competes with timed cases for the cores."""
    settings = notebook_settings(assignment)
    if settings is None or not options.run_notebook:
        return None, {}
    if options.progress:
        options.progress("notebook")
    label = options.student or submission.zip_path.stem
    return grade_notebook(settings, submission, assignment, package_dir, workdir, options.artifacts_dir, label,
                          options.allow_weaker_isolation)


def expand_cases(question: Question, index: int, context: GradingContext) -> list[Case]:
    """Public cases plus hidden ones drawn from the run's seed, with points assigned."""
    cases = list(question.cases)
    if question.hidden:
        generator = getattr(context.assignment.checks(), question.hidden.generator)
        rng = np.random.default_rng([context.seed, index])
        for n, raw in enumerate(generator(rng, question.hidden.count)):
            raw = {"name": f"hidden {n + 1}", **raw}
            cases.append(make_case(raw, question.defaults, question.id, hidden=True))
    return split_points(question, cases)


def _grade_group(
    cases: list[Case], qindex: int, package_dir: Path, context: GradingContext, options: GradeOptions, workdir: Path
) -> tuple[list[CaseResult], str, float]:
    """Runs a group's cases, re-launching after a hang so one stuck case costs only itself."""
    started = time.monotonic()
    if options.progress:
        options.progress(workdir.name)
    assignment, checks = context.assignment, context.assignment.checks()
    prepared = {c.name: prepare_case(c, qindex, n, context, checks) for n, c in enumerate(cases)}
    limits = assignment.limits.with_overrides(**cases[0].limits)
    if options.max_blas_threads:
        limits = limits.with_overrides(blas_threads=min(limits.blas_threads, options.max_blas_threads))
    records: dict[str, CaseRecord] = {}
    stdout: list[str] = []
    pending = list(cases)
    failed = ""  # why the last run started no case (it is retried)
    for _ in range(MAX_RUNS_PER_GROUP):
        if not pending:
            break
        sandbox_cases = [SandboxCase(c.name, c.task, c.params, prepared[c.name][0]) for c in pending]
        with sandbox_slot() as slot:
            isolation = isolation_for(sandbox_uid(slot), options.allow_weaker_isolation)
            workdir.mkdir(parents=True, exist_ok=True)
            outcome = run_cases(
                sandbox_cases, package_dir, assignment.package, assignment.driver_path, limits, workdir, isolation
            )
        stdout.append(outcome.stdout + outcome.stderr)
        records.update(outcome.records)
        if not outcome.records:  # no case started: the sandbox or runtime failed before any student code ran
            failed = _start_failure(outcome)
            continue
        pending = [c for c in pending if c.name not in records]
        failed = ""
    if failed:
        raise GraderFault(f"the sandbox could not start after {MAX_RUNS_PER_GROUP} tries: {failed}")
    results = [
        case_verdict(c, records.get(c.name), prepared[c.name], context, checks, limits) for c in cases
    ]
    return results, "".join(stdout), time.monotonic() - started


def _start_failure(outcome: RunOutcome) -> str:
    """Why a run started no case: the last line the sandbox or runtime printed, else its exit code.

    The runner imports student code only inside a case, so this is never the student's doing.
    """
    return (outcome.stderr.strip().splitlines() or [f"exit code {outcome.returncode}, no output"])[-1][:300]


def prepare_case(case: Case, qindex: int, cindex: int, context: GradingContext, checks) -> tuple[dict, dict]:
    """Probe inputs (sent to the sandbox) and reference outputs (kept in the parent)."""
    rng = np.random.default_rng([context.seed, qindex, cindex, 1])
    inputs = getattr(checks, case.probe)(case.params, rng, context)
    expected = getattr(checks, "expect_" + case.expect)(inputs, case.params, context)
    return inputs, expected


def case_verdict(case: Case, record: CaseRecord | None, prepared: tuple[dict, dict], context: GradingContext,
             checks, limits) -> CaseResult:  # fmt: skip
    if record is None:
        return CaseResult(case, False, "error", message="not run: the sandbox hung or died on earlier cases of its group")
    if record.status in UNFINISHED_MESSAGES:
        message = UNFINISHED_MESSAGES[record.status].format(limit=limits.timeout_s, memory=limits.memory_mb)
        if record.status == "timeout" and case.timeout_hint:
            message += f": {case.timeout_hint}"
        return CaseResult(case, False, record.status, message=message)
    if record.status != "ok":
        status = record.status if record.status == "not_implemented" else "error"
        if record.error and record.error.get("type") == "MemoryError":
            status = "memory"
        collected = [spec.name for spec in context.assignment.files if spec.kind == "python"]
        return CaseResult(case, False, status, message=explain_error(record.error, collected))
    inputs, expected = prepared
    try:
        judge = judge_for(case.judge, checks)
        validate(record.arrays, expected, finite=not getattr(judge, "accepts_nonfinite", False))
        verdict = judge(record.arrays, expected, case, context)
    except Invalid as exc:
        return CaseResult(case, False, "failed", message=str(exc))
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as exc:  # odd but valid-looking outputs
        return CaseResult(case, False, "error", message=f"the outputs could not be judged: {exc}")
    return _from_verdict(case, verdict)


def judge_for(name: str, checks) -> Callable[..., Verdict]:
    return BUILTIN_JUDGES.get(name) or getattr(checks, name)


def _from_verdict(case: Case, verdict: Verdict) -> CaseResult:
    return CaseResult(
        case, verdict.passed, "passed" if verdict.passed else "failed", verdict.metric, verdict.value,
        verdict.threshold, verdict.message, finite_extras(verdict.extras or {}),
    )  # fmt: skip


def _unusable_files(question: Question, submission: Submission) -> str:
    problems = [f"{name} is missing from the zip" for name in question.needs if name in submission.missing]
    problems += [f"{name} cannot be used: {submission.broken[name]}" for name in question.needs if name in submission.broken]
    return "; ".join(problems)


def _build_workspace(submission: Submission, assignment: Assignment, target: Path) -> Path:
    """The template's given code with the student's whitelisted files laid on top; returns the package."""
    package = target / assignment.package
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(assignment.template_dir / assignment.package, package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.c"))  # fmt: skip
    for spec in assignment.files:
        if spec.name in submission.files and spec.kind == "python":
            dest = target / spec.dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(submission.files[spec.name], dest)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return package


def _sandbox_summary(assignment: Assignment, allow_weaker: bool) -> dict[str, Any]:
    """What isolation the run had and the default limits (cases may raise their own, e.g. training)."""
    isolation = isolation_for(sandbox_uid(0), allow_weaker)
    return {
        "kind": isolation.kind,
        "warning": isolation.warning,
        "unprivileged_uid": isolation.uid is not None or os.geteuid() != 0,
        "memory_cgroup": cgroup_version(),
        "limits": asdict(assignment.limits),
    }


def _fault_result(zip_path: Path, assignment: Assignment, common: dict[str, Any], exc: Exception,
                  seconds: float) -> dict[str, Any]:  # fmt: skip
    """The `error` result: what failed, in one line, and the traceback for whoever fixes the grader."""
    expected = isinstance(exc, GraderFault | SandboxUnavailable)
    message = str(exc) if expected else f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    known = {"sandbox": {"kind": None}, **common}  # the sandbox summary itself may be what failed
    result = result_document(
        assignment, **known, sha256=_sha256_or_empty(zip_path), status=FAULT,
        message=f"the grader failed (not the student's fault; grade it again once fixed): {message}",
        data=None, duration_s=seconds, files={}, questions=[],
    )  # fmt: skip
    result["fault"] = {"type": type(exc).__name__, "traceback": "" if expected else traceback.format_exc(limit=8)}
    return result


def _sha256_or_empty(zip_path: Path) -> str:
    try:
        return sha256_file(zip_path)
    except OSError:
        return ""


def _files_summary(submission: Submission) -> dict[str, Any]:
    return {
        "found": dict(submission.origins),
        "missing": list(submission.missing),
        "broken": dict(submission.broken),
        "ignored": list(submission.ignored),
    }
