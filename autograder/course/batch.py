"""Course step: batch grading: owns grading a whole class folder on a local process pool or a Dask cluster.

The coordinating process maps files to students (`lms_layout`), skips what the gradebook already
holds for the same content, assignment version and seed (so re-running an interrupted batch
with the same seed resumes it), sends each zip's bytes to a worker, and records every result
itself: workers only return result documents and need no shared filesystem or database.

Each worker grades one zip at a time with one thread and BLAS capped at 1, so N workers use N
cores. A worker that raises, or whose process dies, costs only its submission: after
`RETRIES` more tries it becomes an internal-fault row of the summary (not of the gradebook, so
the next run retries it) and the batch goes on.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import signal
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from autograder.assignment import Assignment, load_assignment
from autograder.course.gradebook import Gradebook
from autograder.course.lms_layout import ClassFolder, Entry, discover
from autograder.grading.intake import submission_stem
from autograder.grading.options import RunOptions

RETRIES = 2
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
GENERIC_STEMS = frozenset({"submit", "submission"})  # zip names that are no student id


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker grades with: the assignment and the CLI's one RunOptions, whose seed is set
    (the same for the whole class). Its artifacts folder is only meaningful when workers share our filesystem."""

    assignment: str  # an id under assignments/ or the folder holding its assignment.toml
    options: RunOptions

    @property
    def seed(self) -> int:
        return self.options.seed


@dataclass(frozen=True)
class Job:
    entry: Entry
    sha256: str

    def key(self, seed: int) -> str:
        """Dask task key: the same content, seed and student is the same task."""
        return f"grade-{self.sha256[:16]}-{seed}-{self.entry.student}"


@dataclass(frozen=True)
class Outcome:
    """One row of the batch summary."""

    entry: Entry
    status: str  # graded | ungradable | fault | skipped
    message: str = ""
    score: float | None = None
    max_score: float | None = None
    sandbox_warning: str | None = None


@dataclass
class BatchReport:
    """The plan (what to grade) and, once run, what happened."""

    settings: WorkerSettings
    folder: ClassFolder
    started: float  # time.monotonic() when planning began
    pending: list[Job] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False
    wall_s: float = 0.0

    @property
    def seed(self) -> int:
        return self.settings.seed

    def counts(self) -> Counter:
        return Counter(o.status for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        rows = [{"file": str(o.entry.path), "student": o.entry.student, "layout": o.entry.layout,
                 "late": o.entry.late, "status": o.status, "score": o.score, "max_score": o.max_score,
                 "message": o.message} for o in self.outcomes]  # fmt: skip
        return {
            "seed": self.seed, "counts": dict(self.counts()), "interrupted": self.interrupted,
            "wall_s": round(self.wall_s, 3), "outcomes": rows,
            "unmapped": [{"file": str(p), "why": why} for p, why in self.folder.unmapped],
            "ignored": [{"file": str(p), "why": why} for p, why in self.folder.ignored],
        }  # fmt: skip


Worker = Callable[[str, bytes, str, WorkerSettings], dict]
Finished = tuple[Job, "dict | BaseException"]
Backend = Callable[[list[Job], Worker, WorkerSettings], Iterator[Finished]]


class WorkerDied(Exception):
    """The worker process grading a submission died (killed, out of memory) on every try."""


# ---------------------------------------------------------------- worker side


def grade_submission(name: str, data: bytes, student: str, settings: WorkerSettings) -> dict:
    """Runs on a worker: writes the zip into a private temp folder and grades it single-threaded.

    Returns the result's JSON document: what travels back to the coordinator and into the gradebook.
    """
    from autograder.grading.run import grade_zip  # imports numpy: after _single_threaded

    options = replace(settings.options, parallel=1, max_blas_threads=1, student=student)
    with tempfile.TemporaryDirectory(prefix="batch-") as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        return grade_zip(path, _assignment(settings.assignment), options).to_json()


def worker_preflight(settings: WorkerSettings) -> str | None:
    """Runs on a worker: the sandbox preflight under the batch's settings; why it failed, or None."""
    from autograder.sandbox.preflight import PreflightFailed, preflight

    try:
        preflight(_assignment(settings.assignment).limits, settings.options.allow_weaker_isolation)
    except PreflightFailed as exc:
        return str(exc)
    return None


@functools.lru_cache(maxsize=4)
def _assignment(assignment_id: str) -> Assignment:
    return load_assignment(assignment_id)


def _single_threaded() -> None:
    """Pool initializer: one BLAS thread in the worker, whether or not numpy is already loaded there.

    The variables reach a numpy imported later. But a spawned worker first re-imports the
    coordinator's main module, and a script that imports numpy at its top (benchmarks/bench_batch.py
    does, through the test helpers) had OpenBLAS start one thread per core before this ran: two
    workers on two cores ran four BLAS threads, and a batch graded at 0.71-0.74 s per submission
    instead of ~0.6. threadpoolctl caps the pools already loaded.
    """
    for name in THREAD_ENV:
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def _worker_pool(jobs: int) -> ProcessPoolExecutor:
    """`jobs` spawned worker processes (nothing of ours inherited), each single-threaded."""
    return ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_single_threaded)


# ---------------------------------------------------------------- backends


def usable_cores() -> int:
    """Cores this process may run on (a container's or taskset's share, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def local_pool(jobs: int) -> Backend:
    """`jobs` worker processes on this machine (spawned, so nothing of ours is inherited).

    When a worker process dies the pool breaks and every job it was running is a suspect; each
    suspect is then rerun alone, so only the zip that kills its worker is charged."""

    def run(queue: list[Job], worker: Worker, settings: WorkerSettings) -> Iterator[Finished]:
        pending, suspects, deaths = deque(queue), deque(), Counter()
        while pending or suspects:
            if not suspects:
                suspects.extend((yield from _drain_pool(pending, worker, settings, jobs)))
                continue
            job = suspects.popleft()
            if not (yield from _drain_pool(deque([job]), worker, settings, 1)):
                continue
            deaths[job] += 1
            if deaths[job] > RETRIES:
                yield job, WorkerDied(f"the worker process died each of the {deaths[job]} times it graded this zip alone")
            else:
                suspects.appendleft(job)

    return run


def _drain_pool(pending: deque[Job], worker: Worker, settings: WorkerSettings,
                jobs: int) -> Generator[Finished, None, list[Job]]:  # fmt: skip
    """Grades from `pending` until it is empty or the pool breaks; returns the jobs lost."""
    pool = _worker_pool(jobs)
    running: dict[Future, Job] = {}
    try:
        while pending or running:
            while pending and len(running) <= jobs:  # one queued ahead: no worker waits on us
                job = pending.popleft()
                try:
                    data = job.entry.path.read_bytes()
                except OSError as exc:
                    yield job, exc
                    continue
                running[pool.submit(worker, job.entry.path.name, data, job.entry.student, settings)] = job
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            if any(_broke(f) for f in done):
                done, _ = wait(running)  # the others fail at once
            lost = []
            for future in done:
                job = running.pop(future)
                if _broke(future):
                    lost.append(job)
                else:
                    yield job, future.exception() or future.result()
            if lost:
                return lost
        pool.shutdown()
        return []
    finally:
        _stop(pool)


def _broke(future: Future) -> bool:
    return isinstance(future.exception(), BrokenProcessPool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancels what is queued and ends the workers now (after an interrupt or a broken pool)."""
    if hasattr(pool, "terminate_workers"):  # Python 3.14+
        pool.terminate_workers()
        return
    processes = list((pool._processes or {}).values())  # before shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
        process.join(5)


def dask_backend(client: Any) -> Backend:
    """Each submission a Dask task; a worker that dies mid-grade has its task rerun elsewhere."""

    def run(queue: list[Job], worker: Worker, settings: WorkerSettings) -> Iterator[Finished]:
        from distributed import as_completed

        futures = {}
        try:
            for job in queue:
                try:
                    data = job.entry.path.read_bytes()
                except OSError as exc:
                    yield job, exc
                    continue
                future = client.submit(worker, job.entry.path.name, data, job.entry.student, settings,
                                       key=job.key(settings.seed), retries=RETRIES, pure=False)  # fmt: skip
                futures[future] = job
            for future in as_completed(list(futures)):
                yield futures[future], _dask_value(future)
        finally:
            client.cancel(list(futures))

    return run


def preflight_cluster(client: Any, settings: WorkerSettings) -> list[str]:
    """The preflight on every Dask worker before any task is sent: one line per worker that failed."""
    answers = client.run(worker_preflight, settings)
    return [f"worker {worker}: {why}" for worker, why in sorted(answers.items()) if why]


def _dask_value(future: Any) -> dict | BaseException:
    if future.status == "finished":
        return future.result()
    if future.status == "cancelled":
        return RuntimeError("the Dask task was cancelled (scheduler restarted or lost?)")
    return future.exception()


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A client of the cluster at `scheduler`, or of a new local cluster of `workers` processes."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with dask.config.set({"distributed.worker.profile.enabled": False}):  # its sampling costs CPU grading needs
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)  # fmt: skip
    with cluster, Client(cluster) as client:
        yield client


# ---------------------------------------------------------------- the coordinator


def plan_batch(folder: Path, assignment: Assignment, gradebook: Gradebook, settings: WorkerSettings,
               results_dir: Path | None = None) -> BatchReport:  # fmt: skip
    """Maps `folder` to students and lists what is still to grade (`report.pending`)."""
    reserved = GENERIC_STEMS | {assignment.id, Path(assignment.release_zip).stem}
    report = BatchReport(settings, discover(folder, reserved), started=time.monotonic())
    report.pending = _plan(report, assignment, gradebook, results_dir)
    return report


def run_batch(
    report: BatchReport, assignment: Assignment, gradebook: Gradebook, backend: Backend,
    results_dir: Path | None = None, on_outcome: Callable[[Outcome], None] | None = None,
    worker: Worker = grade_submission,
) -> BatchReport:  # fmt: skip
    """Grades `report.pending`, recording each result as it arrives; never raises for a
    submission's problems. Ctrl-C or SIGTERM stops it with `interrupted` set."""
    try:
        with _terminate_as_interrupt(), contextlib.closing(backend(report.pending, worker, report.settings)) as done:
            for job, value in done:
                outcome = _settle(job, value, assignment, gradebook, results_dir)
                report.outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
    except KeyboardInterrupt:
        report.interrupted = True
    report.wall_s = time.monotonic() - report.started
    if results_dir:
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / "batch-summary.json").write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")
    return report


def _plan(report: BatchReport, assignment: Assignment, gradebook: Gradebook,
          results_dir: Path | None) -> list[Job]:  # fmt: skip
    """Jobs still to grade; what the gradebook holds (or this batch repeats) is skipped."""
    queue: list[Job] = []
    planned: dict[tuple[str, str], Entry] = {}
    for entry in report.folder.entries:
        sha = hashlib.sha256(entry.path.read_bytes()).hexdigest()
        attempt = gradebook.find_attempt(entry.student, assignment.id, sha, assignment.version, report.seed)
        if attempt is not None:
            report.outcomes.append(Outcome(entry, "skipped", f"already in the gradebook (attempt {attempt})"))
            if results_dir:
                _save(gradebook.result(attempt), results_dir, overwrite=False)
        elif (entry.student, sha) in planned:
            same = planned[(entry.student, sha)].path.name
            report.outcomes.append(Outcome(entry, "skipped", f"same content as {same}"))
        else:
            planned[(entry.student, sha)] = entry
            queue.append(Job(entry, sha))
    return queue


def _settle(job: Job, value: dict | BaseException, assignment: Assignment, gradebook: Gradebook,
            results_dir: Path | None) -> Outcome:  # fmt: skip
    """Records a worker's result document, or turns its failure (an exception, a dead worker, an
    `error` result) into a fault row, which records no attempt so that the next run grades it."""
    from autograder.grading.scoring import FAULT  # noqa: I001 - imports numpy, so not at the top where workers import us

    if isinstance(value, BaseException):
        return _fault(job, _one_line(value), assignment, gradebook)
    if value.get("status") == FAULT:
        return _fault(job, value.get("message") or "the grader failed", assignment, gradebook)
    if value.get("assignment_version") != assignment.version:
        return _fault(job, f"the worker graded version {value.get('assignment_version')!r}, not "
                      f"{assignment.version!r}: install the same grader on every worker", assignment, gradebook)  # fmt: skip
    try:
        gradebook.record(value, job.entry.student)
    except Exception as exc:  # noqa: BLE001 - a row we could not store is a fault, not the end
        return _fault(job, f"could not record: {_one_line(exc)}", assignment, gradebook)
    if results_dir:
        _save(value, results_dir, overwrite=True)
    return Outcome(job.entry, value["status"], value.get("message") or "", value.get("score"),
                   value.get("max_score"), (value.get("sandbox") or {}).get("warning"))  # fmt: skip


def _fault(job: Job, message: str, assignment: Assignment, gradebook: Gradebook) -> Outcome:
    """A fault row of the summary, noted in the gradebook as a missing grade (never as an attempt)."""
    try:
        gradebook.record_fault(job.entry.student, assignment.id, job.sha256, message)
    except Exception as exc:  # noqa: BLE001 - the summary still names the student
        message += f" (and the gradebook could not note it: {_one_line(exc)})"
    return Outcome(job.entry, "fault", message)


def _save(result: dict, results_dir: Path, overwrite: bool) -> None:
    path = results_dir / f"{submission_stem(result.get('student'), result.get('sha256'))}.json"
    if overwrite or not path.exists():
        results_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2), encoding="utf-8")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text[:300]}"


def summary_text(report: BatchReport) -> str:
    """The end-of-batch summary: counts and wall time, then every row that needs a look."""
    counts = report.counts()
    lines = [f"graded {counts['graded']}, ungradable {counts['ungradable']}, internal faults {counts['fault']}, "
             f"skipped as already graded {counts['skipped']}, wall time {report.wall_s:.1f} s (seed {report.seed})"]
    labels = {"ungradable": "ungradable", "fault": "internal fault"}
    lines += [f"  {labels[o.status]:<14} {o.entry.student:<16} {o.entry.path.name}: {o.message}"
              for o in report.outcomes if o.status in labels]  # fmt: skip
    lines += [f"  unmapped       {path}: {why}" for path, why in report.folder.unmapped]
    lines += [f"  ignored        {path}: {why}" for path, why in report.folder.ignored]
    late = sorted({o.entry.student for o in report.outcomes if o.entry.late})
    if late:
        lines.append(f"  marked LATE by Canvas: {', '.join(late)}")
    faulted = sorted({o.entry.student for o in report.outcomes if o.status == "fault"})
    if faulted:
        lines.append(f"  NO GRADE YET for {len(faulted)} student(s) (internal fault, nothing recorded, not a 0): "
                     f"{', '.join(faulted)}; fix the cause, then run again with --seed {report.seed} to grade only them")  # fmt: skip
    warnings = Counter(o.sandbox_warning for o in report.outcomes if o.sandbox_warning)
    lines += [f"  sandbox warning on {n} result(s): {text}" for text, n in warnings.items()]
    if report.interrupted:
        left = len(report.pending) - sum(counts[s] for s in ("graded", "ungradable", "fault"))
        lines.append(f"interrupted with {left} still to grade: run again with --seed {report.seed} to resume")
    return "\n".join(lines)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the batch like Ctrl-C: workers are ended and what is recorded stays."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
