"""Grading step: the pipeline for one zip: intake → sandboxed runs → verdicts → scores → result document.

Generic: everything assignment-specific comes from the declaration and its checks module. A
crash, hang or hostile output costs the cases it touches; the run always ends in a result. A fault
of the grader itself (a sandbox that cannot start, an exception here) ends in an `error` result
with no score, never in points lost.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from autograder.assignment import (
    Assignment,
    Case,
    Limits,
    Question,
    Targets,
    make_case,
    notebook_settings,
)
from autograder.grading.intake import Submission, UngradableSubmission, read_submission, sha256_file
from autograder.grading.judge import (
    BUILTIN_JUDGES,
    Invalid,
    Verdict,
    explain_error,
    finite_extras,
    validate,
)
from autograder.grading.notebook import grade_notebook, record_notebook
from autograder.grading.options import RunOptions
from autograder.grading.result import (
    FAULT,
    CaseTime,
    Fault,
    Files,
    NotebookSection,
    QuestionResult,
    Result,
    SandboxSummary,
)
from autograder.grading.scoring import (
    CaseResult,
    question_result,
    result_document,
    split_points,
    ungradable_question,
)
from autograder.grading.time_limits import CALIBRATION_LIMIT, ReferenceCosts, derive, group_key
from autograder.sandbox.cgroup import cgroup_version
from autograder.sandbox.command import Isolation, SandboxUnavailable, isolation_for, sandbox_uid
from autograder.sandbox.slots import sandbox_slot
from autograder.sandbox.supervisor import (
    CaseRecord,
    RunOutcome,
    SandboxCase,
    TimeLimit,
    fixed_time,
    run_cases,
)

MAX_RUNS_PER_GROUP = 3
CHECKS_LOCK = threading.RLock()
"""Held while a checks function runs (probe, expect, judge), in every grade of this process.

The groups of a grade run in threads, so that their sandboxes share the cores; the checks are
trusted code written as plain scripts, free to use process-wide state: numpy's global random
state seeded for a reference model (HW5, HW6), the batch-norm stand-in patched into the
reference's modules (HW6's `_both_ways`), `sys.modules` swapped for a fresh reference import
(HW7's `own_reference`). Two at once broke each other: Q2's expected outputs computed while Q3
held HW6's stand-in raised KeyError 'running_var', a grader fault (`score` None) that load made
likely (tests/test_hw6_deep_cnn_grading.py). The sandbox runs, the long part, still overlap."""
UNFINISHED_MESSAGES = {
    "timeout": "did not finish within the time limit ({limit:g} s); the run was killed",
    "memory": "ran out of memory (limit {memory} MiB)",
    "output": "printed or returned too much output; the run was killed",
    "crashed": "the sandboxed process died before finishing this case",
}
CPU_MESSAGE = "used more than its CPU time limit ({limit:g} s of CPU{reference}); the run was killed"
IDLE_MESSAGE = ("did not finish within the wall-clock time limit ({wall:g} s) and used only {cpu:.2f} s of CPU{queued}: "
                "it was waiting (sleep, input(), a lock, a child process), not computing")  # fmt: skip
BUSY_MESSAGE = ("the grading machine was too busy to finish this case ({cpu:.1f} s of CPU in {wall:.0f} s of wall "
                "time{queued}; its limit is {limit:g} s of CPU): a grader problem, not your code; ask for a regrade")  # fmt: skip
UNMEASURED_WAIT = " (its wait for a CPU was not measurable here: judged on CPU time alone)"


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
        return self.data or self.assignment.data.default

    @property
    def data_label(self) -> str | None:
        """The checks' name for the data set (`describe_data`), which keys `[data.targets]`."""
        describe = getattr(self.assignment.checks(), "describe_data", None)
        return describe(self) if describe else None

    @property
    def targets(self) -> Targets:
        """The thresholds calibrated for this run's data set; a case's judge reads `targets[case.target]`."""
        return self.assignment.data.targets[self.data_label or self.data_source]


def grade_zip(zip_path: Path, assignment: Assignment, options: RunOptions) -> Result:
    """Grades one zip and returns its typed result; never raises for a student's mistake."""
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
                data=None, duration_s=time.monotonic() - clock, files=Files(), questions=[],
            )  # fmt: skip
        context = GradingContext(assignment, seed, options.data)
        data_label = context.data_label
        package_dir = _build_workspace(submission, assignment, workdir / "workspace")
        timekeeper = Timekeeper.for_run(assignment, options.cache_dir, workdir, options.allow_weaker_isolation)
        questions, (section, artifacts) = _grade_questions(submission, assignment, context, options, workdir,
                                                           package_dir, timekeeper)  # fmt: skip
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
    submission: Submission, assignment: Assignment, context: GradingContext, options: RunOptions, workdir: Path,
    package_dir: Path, timekeeper: Timekeeper | None,
) -> tuple[list[QuestionResult], tuple[NotebookSection | None, dict[str, str]]]:  # fmt: skip
    """Every (question, group) sandbox run and the notebook go to one pool, longest first.

    The training groups start first and the notebook next, so on two cores the notebook and the
    short groups run beside the epoch instead of after it (grading takes the epoch plus seconds).
    Running side by side costs no timed case its truth: time limits are on CPU seconds of
    one-BLAS-thread runs, which load does not change. Groups that declare several BLAS threads run
    afterwards, alone: OpenBLAS threads that share cores with another busy process spin instead
    of working (an epoch went from 0.06 to 0.5 s per batch in a measurement here).
    """
    plans = [
        (index, q, [c for c in expand_cases(q, index, context) if c.group not in options.skip_groups])
        for index, q in enumerate(assignment.questions)
        if not options.only or q.id in options.only
    ]
    # A question whose every case is skipped (--no-training on a training-only question) is left
    # out, as `only` leaves it out: it has no verdict to report.
    plans = [plan for plan in plans if plan[2]]
    groups = [
        (index, q, [c for c in cases if c.group == group])
        for index, q, cases in plans
        if not _unusable_files(q, submission)
        for group in dict.fromkeys(c.group for c in cases)
    ]
    exclusive = [g for g in groups if _exclusive(g[2], assignment, options)]
    training = [g for g in groups if g not in exclusive and g[2][0].group in assignment.training_groups]
    rest = [g for g in groups if g not in exclusive and g not in training]
    runs: dict[tuple[str, str], Future] = {}

    def submit(pool: ThreadPoolExecutor, index: int, question: Question, members: list[Case]) -> None:
        group = members[0].group
        runs[(question.id, group)] = pool.submit(_grade_group, members, index, package_dir, context, options,
                                                 workdir / f"{question.id}-{group}", timekeeper)  # fmt: skip

    with ThreadPoolExecutor(max_workers=max(1, options.parallel)) as pool:
        for group in training:
            submit(pool, *group)
        notebook = pool.submit(_grade_notebook, submission, assignment, options, workdir, package_dir)
        for group in rest:
            submit(pool, *group)
    with ThreadPoolExecutor(max_workers=1) as pool:
        for group in exclusive:
            submit(pool, *group)
    return [_assemble(q, cases, submission, runs) for _, q, cases in plans], notebook.result()


def _exclusive(members: list[Case], assignment: Assignment, options: RunOptions) -> bool:
    threads = assignment.limits.with_overrides(**members[0].limits).blas_threads
    return threads > 1 and (options.max_blas_threads or threads) > 1


def _assemble(question: Question, cases: list[Case], submission: Submission, runs: dict) -> QuestionResult:
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
    submission: Submission, assignment: Assignment, options: RunOptions, workdir: Path, package_dir: Path
) -> tuple[NotebookSection | None, dict[str, str]]:
    """Runs the submitted notebook in the sandbox (its budgets are wall-clock seconds with ample room)."""
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
    cases: list[Case], qindex: int, package_dir: Path, context: GradingContext, options: RunOptions, workdir: Path,
    timekeeper: Timekeeper | None = None,
) -> tuple[list[CaseResult], str, float]:  # fmt: skip
    """Runs a group's cases, each in its own time budget; then second chances in a separate run."""
    started = time.monotonic()
    if options.progress:
        options.progress(workdir.name)
    assignment, checks = context.assignment, context.assignment.checks()
    prepared, limits = _group_setup(cases, qindex, context, options)
    reference = timekeeper.reference_cpu(assignment.questions[qindex].id, cases, prepared, limits, context,
                                         workdir / "reference") if timekeeper else None  # fmt: skip
    budgets = {c.name: case_budget(c, limits, assignment, reference) for c in cases}
    run = GroupRun(prepared, budgets, package_dir, limits, assignment, options.allow_weaker_isolation)
    records, stdout = run.records(cases, {c.name: c.task for c in cases}, workdir)
    results = [case_verdict(c, records.get(c.name), prepared[c.name], context, checks, limits, budgets[c.name])
               for c in cases]  # fmt: skip
    results, retried = _second_chances(cases, results, run, context, checks, workdir / "second-chance")
    return results, stdout + retried, time.monotonic() - started


def _group_setup(cases: list[Case], qindex: int, context: GradingContext, options: RunOptions) -> tuple[dict, Limits]:
    """The group's probe inputs and reference outputs, and its limits (BLAS threads capped as asked)."""
    checks = context.assignment.checks()
    prepared = {c.name: prepare_case(c, qindex, n, context, checks) for n, c in enumerate(cases)}
    limits = context.assignment.limits.with_overrides(**cases[0].limits)
    if options.max_blas_threads:
        limits = limits.with_overrides(blas_threads=min(limits.blas_threads, options.max_blas_threads))
    return prepared, limits


@dataclass(frozen=True)
class ReferenceCost:
    """One group's measured reference CPU time and the limits derived from it (`grade calibrate-limits`)."""

    question: str
    group: str
    blas_threads: int
    reference_cpu_s: float | None
    limit: TimeLimit


def calibrate_limits(assignment: Assignment, options: RunOptions, force: bool = False) -> list[ReferenceCost]:
    """Measures the reference's CPU time for every (question, group) not yet cached here; `force` measures all again."""
    if assignment.time_policy is None:
        return []
    seed = options.seed if options.seed is not None else 0
    context = GradingContext(assignment, seed, options.data)
    owns_workdir = options.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="calibrate-")) if owns_workdir else options.workdir
    try:
        timekeeper = Timekeeper.for_run(assignment, options.cache_dir, workdir, options.allow_weaker_isolation)
        if force:
            timekeeper.costs.forget()
        rows = []
        for index, question in enumerate(assignment.questions):
            if options.only and question.id not in options.only:
                continue
            cases = [c for c in expand_cases(question, index, context) if c.group not in options.skip_groups]
            for group in dict.fromkeys(c.group for c in cases):
                members = [c for c in cases if c.group == group]
                if options.progress:
                    options.progress(f"{question.id}-{group}")
                prepared, limits = _group_setup(members, index, context, options)
                cost = timekeeper.reference_cpu(question.id, members, prepared, limits, context,
                                                workdir / f"{question.id}-{group}")  # fmt: skip
                budget = case_budget(members[0], limits, assignment, cost)
                rows.append(ReferenceCost(question.id, group, limits.blas_threads, cost, budget.limit))
        return rows
    finally:
        if owns_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class CaseBudget:
    """A case's time limits and, when they were derived from it, the reference's cost behind them."""

    limit: TimeLimit
    reference_cpu_s: float | None = None
    hint_multiple: float | None = None


def case_budget(case: Case, limits: Limits, assignment: Assignment, reference_cpu_s: float | None) -> CaseBudget:
    """Derived from the reference's cost under the assignment's policy; a case's own cpu_s/timeout_s wins."""
    policy = assignment.case_policy(case)
    if policy is None or reference_cpu_s is None or {"cpu_s", "timeout_s"} & case.limits.keys():
        return CaseBudget(fixed_time(limits))
    return CaseBudget(derive(policy, reference_cpu_s), reference_cpu_s, policy.hint_multiple)


@dataclass(frozen=True)
class GroupRun:
    """What every sandbox run of one group shares: inputs, budgets, the package, the limits.

    The one case runner of `grade` (a sandbox slot per run) and `grade check` (`isolation` given:
    the student's own machine, the grader's rlimits and nothing more).
    """

    prepared: dict[str, tuple[dict, dict | None]]
    budgets: dict[str, CaseBudget]
    package_dir: Path
    limits: Limits
    assignment: Assignment
    allow_weaker: bool = False
    isolation: Isolation | None = None

    @contextmanager
    def _isolation(self) -> Iterator[Isolation]:
        if self.isolation is not None:
            yield self.isolation
            return
        with sandbox_slot() as slot:
            yield isolation_for(sandbox_uid(slot), self.allow_weaker)

    def records(self, cases: list[Case], tasks: dict[str, str], workdir: Path) -> tuple[dict[str, CaseRecord], str]:
        """Runs the cases, re-launching after a hang so one stuck case costs only itself."""
        records: dict[str, CaseRecord] = {}
        stdout: list[str] = []
        pending = list(cases)
        failed = ""  # why the last run started no case (it is retried)
        for _ in range(MAX_RUNS_PER_GROUP):
            if not pending:
                break
            sandbox_cases = [SandboxCase(c.name, tasks[c.name], c.params, self.prepared[c.name][0],
                                         self.budgets[c.name].limit) for c in pending]  # fmt: skip
            with self._isolation() as isolation:
                workdir.mkdir(parents=True, exist_ok=True)
                outcome = run_cases(sandbox_cases, self.package_dir, self.assignment.package,
                                    self.assignment.driver_path, self.limits, workdir, isolation)  # fmt: skip
            stdout.append(outcome.stdout + outcome.stderr)
            records.update(outcome.records)
            if not outcome.records:  # no case started: the sandbox or runtime failed before any student code ran
                failed = _start_failure(outcome)
                continue
            pending = [c for c in pending if c.name not in records]
            failed = ""
        if failed:
            raise GraderFault(f"the sandbox could not start after {MAX_RUNS_PER_GROUP} tries: {failed}")
        return records, "".join(stdout)


def _second_chances(cases: list[Case], results: list[CaseResult], run: GroupRun, context: GradingContext, checks,
                    workdir: Path) -> tuple[list[CaseResult], str]:  # fmt: skip
    """Cases that failed on the reference-built input run again, separately, on input the student's code builds.

    The better verdict counts. When both fail, the message keeps the first attempt's reason and
    says what the second chance ran into, naming the other question's function when it raised there.
    """
    retry = [c for c, r in zip(cases, results, strict=True)
             if c.second_chance and r.status not in ("passed", "not_implemented")]  # fmt: skip
    if not retry:
        return results, ""
    records, stdout = run.records(retry, {c.name: c.second_chance.task for c in retry}, workdir)
    by_name = {r.case.name: r for r in results}
    for case in retry:
        record = records.get(case.name)
        second = case_verdict(case, record, run.prepared[case.name], context, checks, run.limits, run.budgets[case.name])
        by_name[case.name] = second if second.passed else _both_failed(by_name[case.name], second, record)
    return [by_name[c.name] for c in cases], stdout


def _both_failed(first: CaseResult, second: CaseResult, record: CaseRecord | None) -> CaseResult:
    function = first.case.second_chance.builds_with
    why = second.message or second.status
    if record and record.error and f", in {function}\n" in str(record.error.get("traceback", "")):
        why += f" (raised in {function}, which this case calls to build its cache)"
    elif second.status in ("timeout", "memory"):
        why += f" (this attempt also runs {function} to build its cache)"
    return replace(first, message=f"{first.message}; on the cache of your own {function}: {why}")


@dataclass
class Timekeeper:
    """Per-case time limits from the reference's measured CPU cost (the assignment's `[time_limits]`).

    The reference package is laid out like a submission (template + reference files) and measured
    through the same sandbox path, the first time this machine and code need a group's figure.
    """

    assignment: Assignment
    costs: ReferenceCosts
    workdir: Path
    allow_weaker: bool = False
    package: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_run(cls, assignment: Assignment, cache: Path | None, workdir: Path,
                allow_weaker: bool = False) -> Timekeeper | None:  # fmt: skip
        if assignment.time_policy is None:
            return None
        return cls(assignment, ReferenceCosts.open(assignment, cache), workdir, allow_weaker)

    def reference_cpu(self, qid: str, cases: list[Case], prepared: dict, limits: Limits, context: GradingContext,
                      workdir: Path) -> float | None:  # fmt: skip
        """The reference's worst CPU seconds over the group's cases (second chances included)."""
        public = [c for c in cases if not c.hidden] or cases[:1]
        shape = [[c.task, c.params, c.second_chance and c.second_chance.task,
                  {k: list(v.shape) for k, v in prepared[c.name][0].items()}] for c in public]  # fmt: skip
        key = group_key(qid, cases[0].group, limits.blas_threads, context.data_source, shape)
        return self.costs.ensure(key, lambda: self._measure(cases, prepared, limits, workdir))

    def _measure(self, cases: list[Case], prepared: dict, limits: Limits, workdir: Path) -> float | None:
        unlimited = {c.name: CaseBudget(CALIBRATION_LIMIT) for c in cases}
        run = GroupRun(prepared, unlimited, self._reference_package(), limits, self.assignment, self.allow_weaker)
        records, _ = run.records(cases, {c.name: c.task for c in cases}, workdir)
        retry = [c for c in cases if c.second_chance]
        if retry:
            more, _ = run.records(retry, {c.name: c.second_chance.task for c in retry}, workdir / "second-chance")
            records = [*records.values(), *more.values()]
        else:
            records = list(records.values())
        if len(records) < len(cases) + len(retry) or any(r.status != "ok" or r.cpu_s is None for r in records):
            return None  # the reference did not run cleanly (a grader problem): the fixed limits apply
        return max(r.cpu_s for r in records)

    def _reference_package(self) -> Path:
        with self.lock:
            if self.package is None:
                self.package = _reference_workspace(self.assignment, self.workdir / "reference-workspace")
            return self.package


def _start_failure(outcome: RunOutcome) -> str:
    """Why a run started no case: the machine too busy to start it, else the last line the sandbox
    or runtime printed, else its exit code.

    The runner imports student code only inside a case, so this is never the student's doing.
    """
    if outcome.stopped_by == "busy" and outcome.stopped:
        used = outcome.stopped
        return (f"the machine was too busy: the start-up got {used.cpu_s:.2f} s of CPU in {used.wall_s:.0f} s "
                f"of wall time, {used.wait_s or 0:.0f} s of it waiting for a CPU")  # fmt: skip
    return (outcome.stderr.strip().splitlines() or [f"exit code {outcome.returncode}, no output"])[-1][:300]


def prepare_case(case: Case, qindex: int, cindex: int, context: GradingContext, checks) -> tuple[dict, dict]:
    """Probe inputs (sent to the sandbox) and reference outputs (kept in the parent)."""
    rng = np.random.default_rng([context.seed, qindex, cindex, 1])
    with CHECKS_LOCK:
        inputs = getattr(checks, case.probe)(case.params, rng, context)
        expected = getattr(checks, "expect_" + case.expect)(inputs, case.params, context)
    return inputs, expected


def case_verdict(case: Case, record: CaseRecord | None, prepared: tuple[dict, dict], context: GradingContext,
                 checks, limits: Limits, budget: CaseBudget | None = None) -> CaseResult:  # fmt: skip
    if record is None:
        return CaseResult(case, False, "error", message="not run: the sandbox hung or died on earlier cases of its group")
    budget = budget or CaseBudget(fixed_time(limits))
    limit = budget.limit
    timing = CaseTime(record.cpu_s, record.wall_s, limit.cpu_s if math.isfinite(limit.cpu_s) else None,
                        limit.wall_s, limit.busy_wall_s, budget.reference_cpu_s, record.wait_s)  # fmt: skip
    if record.status in UNFINISHED_MESSAGES:
        status, message = _unfinished(case, record, limits, budget)
        return CaseResult(case, False, status, message=message, timing=timing)
    if record.status != "ok":
        status = record.status if record.status == "not_implemented" else "error"
        if record.error and record.error.get("type") == "MemoryError":
            status = "memory"
        collected = [spec.name for spec in context.assignment.files if spec.kind == "python"]
        return CaseResult(case, False, status, message=explain_error(record.error, collected, context.assignment.hints.shape),
                          timing=timing)
    inputs, expected = prepared
    try:
        judge = judge_for(case.judge, checks)
        validate(record.arrays, expected, finite=not getattr(judge, "accepts_nonfinite", False))
        with CHECKS_LOCK:
            verdict = judge(record.arrays, expected, case, context)
    except Invalid as exc:
        return CaseResult(case, False, "failed", message=str(exc), timing=timing)
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as exc:  # odd but valid-looking outputs
        return CaseResult(case, False, "error", message=f"the outputs could not be judged: {exc}", timing=timing)
    return _from_verdict(case, verdict, timing)


def _unfinished(case: Case, record: CaseRecord, limits: Limits, budget: CaseBudget) -> tuple[str, str]:
    """Status and message of a case the run did not finish: too slow only on CPU time, never on a busy machine."""
    limit, cpu, wall = budget.limit, record.cpu_s or 0.0, record.wall_s or 0.0
    if record.status == "timeout" and math.isfinite(limit.cpu_s) and record.killed_by == "cpu":
        reference = budget.reference_cpu_s
        message = CPU_MESSAGE.format(limit=limit.cpu_s, reference=f"; the reference solution needs {reference:.2g} s "
                                     "here" if reference else "")  # fmt: skip
        if case.timeout_hint and reference and budget.hint_multiple and cpu >= budget.hint_multiple * reference:
            message += f": {case.timeout_hint}"
        return "timeout", message
    if record.status == "timeout" and math.isfinite(limit.cpu_s) and record.killed_by in ("wall", "busy"):
        queued = UNMEASURED_WAIT if record.wait_s is None else f" and waited {record.wait_s:.1f} s for one"
        if record.killed_by == "wall":
            return "timeout", IDLE_MESSAGE.format(wall=limit.wall_s, cpu=cpu, queued=queued)
        return "error", BUSY_MESSAGE.format(cpu=cpu, wall=wall, limit=limit.cpu_s, queued=queued)
    return record.status, UNFINISHED_MESSAGES[record.status].format(limit=limit.wall_s, memory=limits.memory_mb)


def judge_for(name: str, checks) -> Callable[..., Verdict]:
    return BUILTIN_JUDGES.get(name) or getattr(checks, name)


def _from_verdict(case: Case, verdict: Verdict, timing: CaseTime) -> CaseResult:
    return CaseResult(
        case, verdict.passed, "passed" if verdict.passed else "failed", verdict.metric, verdict.value,
        verdict.threshold, verdict.message, finite_extras(verdict.extras or {}), timing,
    )  # fmt: skip


def _unusable_files(question: Question, submission: Submission) -> str:
    problems = [f"{name} is missing from the zip" for name in question.needs if name in submission.missing]
    problems += [f"{name} cannot be used: {submission.broken[name]}" for name in question.needs if name in submission.broken]
    return "; ".join(problems)


def _build_workspace(submission: Submission, assignment: Assignment, target: Path) -> Path:
    """The template's given code with the student's whitelisted files laid on top; returns the package."""
    files = {spec.dest: submission.files[spec.name] for spec in assignment.files
             if spec.name in submission.files and spec.kind == "python"}  # fmt: skip
    return _lay_out(assignment, files, target)


def _reference_workspace(assignment: Assignment, target: Path) -> Path:
    """The same with the reference's versions of the submitted files: a perfect submission, for measuring."""
    files = {spec.dest: assignment.reference_dir / spec.dest for spec in assignment.files if spec.kind == "python"}
    return _lay_out(assignment, files, target)


def _lay_out(assignment: Assignment, files: dict[str, Path], target: Path) -> Path:
    package = target / assignment.package
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(assignment.template_dir / assignment.package, package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.c"))  # fmt: skip
    for dest, source in files.items():
        (target / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / dest)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return package


def _sandbox_summary(assignment: Assignment, allow_weaker: bool) -> SandboxSummary:
    """What isolation the run had and the default limits (cases may raise their own, e.g. training)."""
    isolation = isolation_for(sandbox_uid(0), allow_weaker)
    return SandboxSummary(isolation.kind, isolation.warning, isolation.uid is not None or os.geteuid() != 0,
                          cgroup_version(), asdict(assignment.limits))  # fmt: skip


def _fault_result(zip_path: Path, assignment: Assignment, common: dict[str, Any], exc: Exception,
                  seconds: float) -> Result:  # fmt: skip
    """The `error` result: what failed, in one line, and the traceback for whoever fixes the grader."""
    expected = isinstance(exc, GraderFault | SandboxUnavailable)
    message = str(exc) if expected else f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    known = {"sandbox": SandboxSummary(None), **common}  # the sandbox summary itself may be what failed
    result = result_document(
        assignment, **known, sha256=_sha256_or_empty(zip_path), status=FAULT,
        message=f"the grader failed (not the student's fault; grade it again once fixed): {message}",
        data=None, duration_s=seconds, files=Files(), questions=[],
    )  # fmt: skip
    result.fault = Fault(type(exc).__name__, "" if expected else traceback.format_exc(limit=8))
    return result


def _sha256_or_empty(zip_path: Path) -> str:
    try:
        return sha256_file(zip_path)
    except OSError:
        return ""


def _files_summary(submission: Submission) -> Files:
    return Files(dict(submission.origins), list(submission.missing), dict(submission.broken), list(submission.ignored))
