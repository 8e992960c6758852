"""Sandbox step: parent side: starts one sandbox run, enforces limits from outside, and collects its records.

The child gets rlimits (address space, CPU, processes, file size, open files, no core dumps)
set between fork and exec and an unprivileged uid. Time is kept from outside, per case, the way
isolate does: the case's CPU time (every process of the sandbox: its cgroup's CPU counter, or
the process tree's rusage without one) against its CPU limit, and a wall-clock safety net; past
either the whole process group (and, under bwrap, its pid namespace) is SIGKILLed. The net tells
a waiting case from a starved one by what the case demanded: its CPU time plus the time its tasks
were runnable but waiting for a CPU (`WaitMeter`). A case starts
and ends with the runner's frames on the result pipe. Output is read with caps: past them the
run is killed, so a flood can slow nothing but itself.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import selectors
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import psutil

from autograder.assignment import Limits
from autograder.sandbox import protocol
from autograder.sandbox.cgroup import SlotCgroup, slot_cgroup
from autograder.sandbox.command import (
    TASK_MOUNT,
    WORK_MOUNT,
    Isolation,
    bwrap_command,
    child_environment,
    fallback_command,
    reap_command,
)

RUNNER_FILES = ("runner.py", "protocol.py")
EXIT_GRACE_S = 0.5
POLL_S = 0.1  # how often the CPU counter is read against the running case's limit
STARTUP_CPU_S = 5.0  # the interpreter, numpy and the runner before the first case (rlimit backstop only)
MiB = 1024 * 1024


IDLE_SHARE = 0.05  # below this share of its wall time demanding a CPU a case is waiting (sleep, a lock)


def waiting(cpu_s: float, wait_s: float | None, wall_s: float) -> bool:
    """Whether a case was waiting (a sleep, a lock), not computing: it demanded a CPU (ran, or was
    runnable and waited for one) under IDLE_SHARE of its wall time.

    On a machine with more than ~1/IDLE_SHARE runnable tasks per core a computing case gets under
    IDLE_SHARE of a core: judged on CPU time alone it looked idle and was stopped as a student's
    timeout. Counting its run-queue wait makes it a computing case again. `wait_s` None (not
    measurable here) judges on CPU time alone, as before.
    """
    return cpu_s + (wait_s or 0.0) < IDLE_SHARE * wall_s


@dataclass(frozen=True)
class TimeLimit:
    """One case's time limits: CPU seconds (the limit proper) and the wall-clock safety net.

    With `busy_wall_s` the wall net stops only a case that is waiting (`waiting`: CPU plus
    runnable wait under IDLE_SHARE of its wall time); one still computing, or starved of a CPU on
    a busy machine, runs on to its CPU limit, or to `busy_wall_s` (the machine is then too busy to
    grade at all: a grader fault). Without it (fixed limits) the
    wall clock stops the case at `wall_s`, whatever it does.
    """

    cpu_s: float
    wall_s: float
    busy_wall_s: float | None = None


def fixed_time(limits: Limits) -> TimeLimit:
    """A run's declared limits: CPU seconds when `cpu_s` is set, else the wall clock alone (the old way)."""
    return TimeLimit(limits.cpu_s if limits.cpu_s is not None else math.inf, limits.timeout_s)


@dataclass
class CaseRecord:
    """What the child reported for one case (arrays still unvalidated), and what the parent measured."""

    name: str
    status: str  # ok | error | not_implemented | timeout | memory | crashed
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    error: dict | None = None
    seconds: float = 0.0  # the child's own figure (untrusted, informative)
    cpu_s: float | None = None  # measured by the parent from the case's start frame to its result
    wall_s: float | None = None
    wait_s: float | None = None  # runnable but waiting for a CPU (None: not measurable here)
    killed_by: str = ""  # "cpu" | "wall" (waiting) | "busy" (starved past busy_wall_s) when the parent ended the run


@dataclass
class RunOutcome:
    """One sandbox run: per-case records plus how the process ended."""

    records: dict[str, CaseRecord]
    ended: str  # finished | timeout | cpu | memory | output | crashed
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    problem: str | None = None
    stopped: Usage | None = None  # the start-up's use when the parent stopped the run before any case started
    stopped_by: str = ""  # "cpu" | "wall" | "busy": why the parent stopped the run (CaseClock.over)


@dataclass(frozen=True)
class SandboxCase:
    name: str
    task: str
    params: dict
    inputs: dict[str, np.ndarray]
    time: TimeLimit | None = None  # None: the run's Limits (cpu_limit_s, timeout_s)


def run_cases(
    cases: list[SandboxCase], package_dir: Path, package_name: str, driver: Path, limits: Limits,
    workdir: Path, isolation: Isolation,
) -> RunOutcome:  # fmt: skip
    """Runs the cases in one sandbox, each in its own time budget; cases never reached are absent."""
    task_dir = workdir / "task"
    _write_task(task_dir, cases, driver, package_name)
    budgets = {c.name: c.time or fixed_time(limits) for c in cases}
    backstop = sum(b.cpu_s if math.isfinite(b.cpu_s) else b.wall_s * max(1, limits.blas_threads) for b in budgets.values())
    run_limits = limits.with_overrides(cpu_s=backstop + STARTUP_CPU_S,
                                       timeout_s=sum(b.busy_wall_s or b.wall_s for b in budgets.values()))  # fmt: skip
    clock = CaseClock(budgets, first=budgets[cases[0].name])
    run = run_task(task_dir, "runner.py", package_dir, package_name, run_limits, workdir, isolation, clock)
    outcome = RunOutcome({}, run.ended, run.returncode, run.stdout, run.stderr, run.seconds)
    _parse_records(run.result, outcome, max_frames=clock.max_frames)
    clock.fill(outcome.records, run.ended)
    if run.ended in ("cpu", "timeout") and clock.stopped_by:
        outcome.stopped_by = clock.stopped_by
        outcome.stopped = None if outcome.records else clock.final
    shutil.rmtree(task_dir, ignore_errors=True)
    return outcome


class CpuMeter:
    """CPU seconds the sandbox's processes consumed since the run started.

    The slot's cgroup counter when there is one (it sees every process, even reparented ones);
    else the process tree's own and reaped children's times (psutil), never decreasing.
    """

    def __init__(self, cgroup: SlotCgroup | None, proc: subprocess.Popen) -> None:
        self._cgroup = cgroup if cgroup and cgroup.cpu_seconds() is not None else None
        self._base = self._cgroup.cpu_seconds() if self._cgroup else 0.0
        self._proc = proc
        self._seen = 0.0

    @property
    def source(self) -> str:
        return "cgroup" if self._cgroup else "rusage"

    def seconds(self) -> float:
        if self._cgroup:
            self._seen = max(self._seen, (self._cgroup.cpu_seconds() or 0.0) - self._base)
        else:
            self._seen = max(self._seen, _tree_cpu(self._proc.pid))
        return self._seen


class WaitMeter:
    """Seconds the sandbox's tasks were runnable but waiting for a CPU since the run started.

    Sources, best first (`source` says which): the slot cgroup's cpu.pressure "some" (time at
    least one of its tasks waited; every process of the run, exited ones too); else the run-queue
    delay of /proc/<pid>/task/<tid>/schedstat summed over the threads of the process tree the
    parent sees (a thread's last figure is kept after it exits; the kernel updates it when the
    thread next runs, so it lags a starved thread); else none (`seconds` is None).
    """

    def __init__(self, cgroup: SlotCgroup | None, proc: subprocess.Popen) -> None:
        self._cgroup = cgroup if cgroup and cgroup.runnable_wait_seconds() is not None else None
        self._pid = proc.pid
        self._delays: dict[int, float] = {}
        self.source = wait_source(self._cgroup is not None)
        self._base = self._read() or 0.0
        self._seen = 0.0

    def seconds(self) -> float | None:
        if self.source == "none":
            return None
        self._seen = max(self._seen, (self._read() or 0.0) - self._base)
        return self._seen

    def _read(self) -> float | None:
        if self._cgroup:
            return self._cgroup.runnable_wait_seconds()
        if self.source == "schedstat":
            for member in _tree(self._pid):
                for task in Path(f"/proc/{member.pid}/task").glob("*/schedstat"):
                    tid, delay = int(task.parent.name), _run_delay(task)
                    self._delays[tid] = max(delay or 0.0, self._delays.get(tid, 0.0))
            return sum(self._delays.values())
        return None


SCHEDSTAT = Path("/proc/self/schedstat")  # CONFIG_SCHED_INFO: "<cpu ns> <run-queue wait ns> <slices>"


def wait_source(pressure: bool) -> str:
    """Which measure of a run's wait for a CPU is used: "cpu.pressure", "schedstat" or "none"."""
    return "cpu.pressure" if pressure else "schedstat" if SCHEDSTAT.exists() else "none"


def _run_delay(path: Path) -> float | None:
    try:
        fields = path.read_text().split()
    except OSError:
        return None
    return int(fields[1]) / 1e9 if len(fields) > 1 and fields[1].isdigit() else None


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _tree_cpu(pid: int) -> float:
    members = _tree(pid)
    total = 0.0
    for member in members:
        try:
            t = member.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


class Usage(NamedTuple):
    """CPU seconds, wall seconds and seconds runnable but waiting for a CPU (None: not measurable), kept apart."""

    cpu_s: float
    wall_s: float
    wait_s: float | None


class CaseClock:
    """Which case is running (the runner's start/result frames) and its CPU and wall use against its limits.

    A case is charged from the previous case's result frame (the first one from the run's start,
    interpreter included), so what the parent reads late under load still lands on some case and
    the cases' figures add up to the run's. A start frame for an unknown or already started case
    (a forgery) changes nothing, so the run can never use more than the sum of its cases' limits.
    """

    def __init__(self, budgets: dict[str, TimeLimit], first: TimeLimit) -> None:
        self.budgets = budgets
        self.meter: CpuMeter | None = None
        self.waits: WaitMeter | None = None
        self.current: str | None = None
        self.limit = first
        self.usage: dict[str, Usage] = {}
        self._since = Usage(0.0, time.monotonic(), 0.0)
        self._started: set[str] = set()
        self._offset = 0
        self._frames = 0
        self.max_frames = 2 * len(budgets) + 1  # a start and a result per case, and "done": more are forged
        self.final = Usage(0.0, 0.0, None)
        self.stopped_by = ""  # what over() last answered: "cpu" | "wall" | "busy"

    def begin(self, meter: CpuMeter, waits: WaitMeter | None = None) -> None:
        self.meter, self.waits = meter, waits
        self._since = Usage(0.0, time.monotonic(), 0.0)

    def scan(self, result: bytearray) -> None:
        """Reads the frames that arrived since the last call, at most the runner's own count of them."""
        while self._offset < len(result) and self._frames < self.max_frames:
            frame, end, _ = protocol.next_frame(result, self._offset)
            if frame is None:
                return
            self._offset, self._frames = end, self._frames + 1
            name, event = str(frame.header.get("case", "")), frame.header.get("event")
            if event == "start" and name in self.budgets and name not in self._started:
                self._started.add(name)
                self.current, self.limit = name, self.budgets[name]
            elif event == "result" and name == self.current:
                self.usage[name] = self.used()
                self.current = None
                self._since = self._now()

    def _now(self) -> Usage:
        wait = self.waits.seconds() if self.waits else None
        return Usage(self.meter.seconds() if self.meter else 0.0, time.monotonic(), wait)

    def used(self) -> Usage:
        """What the running case (or the start-up) used since it began; `wait_s` None when not measurable."""
        now, since = self._now(), self._since
        wait = None if now.wait_s is None else round(now.wait_s - (since.wait_s or 0.0), 3)
        return Usage(round(now.cpu_s - since.cpu_s, 3), round(now.wall_s - since.wall_s, 3), wait)

    def over(self) -> str | None:
        """Why the running case (or the start-up) must stop, kept in `stopped_by`: past its CPU limit
        ("cpu"), past its wall net while waiting ("wall"), or starved of a CPU past its busy net ("busy")."""
        used, limit = self.used(), self.limit
        if used.cpu_s > limit.cpu_s:
            self.stopped_by = "cpu"
        elif used.wall_s <= limit.wall_s:
            return None
        elif limit.busy_wall_s is None or waiting(used.cpu_s, used.wait_s, used.wall_s):
            self.stopped_by = "wall"
        elif used.wall_s > limit.busy_wall_s:
            self.stopped_by = "busy"
        else:
            return None
        return self.stopped_by

    def poll_s(self) -> float:
        wall = time.monotonic() - self._since.wall_s
        return max(0.0, min(POLL_S, (self.limit.busy_wall_s or self.limit.wall_s) - wall))

    def fill(self, records: dict[str, CaseRecord], ended: str) -> None:
        """Puts the measured figures on the records; the case that was running when the run ended gets its end."""
        for name, record in records.items():
            if name in self.usage:
                record.cpu_s, record.wall_s, record.wait_s = self.usage[name]
        if self.current in records and self.current not in self.usage:
            record = records[self.current]
            record.cpu_s, record.wall_s, record.wait_s = self.final
            record.killed_by = {"cpu": "cpu", "timeout": self.stopped_by or "wall"}.get(ended, "")

    def stop(self) -> None:
        self.final = self.used()


@dataclass
class TaskRun:
    """How one sandboxed child ended, what it printed (capped) and its undecoded result stream."""

    result: bytes
    ended: str  # finished | timeout | cpu | memory | output | crashed
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float


def run_task(
    task_dir: Path, script: str, package_dir: Path, package_name: str, limits: Limits, workdir: Path,
    isolation: Isolation, clock: CaseClock | None = None,
) -> TaskRun:  # fmt: skip
    """Runs `python -I -B <task>/<script> <task> <fd>` in the sandbox under `limits`.

    `task_dir` holds the script, its task.json and inputs; the workspace path is added to
    task.json here. Shared by the case runner and the notebook runner. Without a per-case
    `clock` the whole run gets the limits' CPU time and wall clock.
    """
    clock = clock or CaseClock({}, first=fixed_time(limits))
    task_root, work_root = (TASK_MOUNT, WORK_MOUNT) if isolation.kind == "bwrap" else (str(task_dir), None)
    read_fd, write_fd = os.pipe()
    argv = [sys.executable, "-I", "-B", f"{task_root}/{script}", task_root, str(write_fd)]
    if isolation.kind == "bwrap":
        cmd = bwrap_command(task_dir, package_dir, package_name, limits, isolation.uid, argv)
        env, cwd = {}, None
    else:
        work_root = str(_fallback_workspace(workdir, package_dir, package_name))
        cmd, env, cwd = fallback_command(limits, isolation.uid, argv), child_environment(limits), work_root
    _set_workspace(task_dir, work_root or WORK_MOUNT)
    if isolation.uid is not None and isolation.kind != "bwrap":
        for path in [task_dir, *task_dir.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    cgroup = slot_cgroup(isolation.uid, limits.memory_mb, limits.processes) if isolation.uid is not None else None
    oom_before = cgroup.oom_kills() if cgroup else 0
    started = time.monotonic()
    proc = subprocess.Popen(
        (cgroup.enter_prefix() if cgroup else []) + cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, cwd=cwd, pass_fds=(write_fd,), start_new_session=True,
    )  # fmt: skip
    os.close(write_fd)
    clock.begin(CpuMeter(cgroup, proc), WaitMeter(cgroup, proc))
    streams, ended, returncode = _collect(proc, read_fd, limits, clock)
    if cgroup:
        cgroup.kill_all()
        if cgroup.oom_kills() > oom_before and ended == "finished":
            ended = "memory"
    _reap(proc, isolation)
    return TaskRun(bytes(streams["result"]), _classify_end(ended, returncode), returncode,
                   _text(streams["stdout"], limits), _text(streams["stderr"], limits),
                   round(time.monotonic() - started, 3))  # fmt: skip


def _write_task(task_dir: Path, cases: list[SandboxCase], driver: Path, package: str) -> None:
    (task_dir / "inputs").mkdir(parents=True, exist_ok=True)
    here = Path(__file__).parent
    for name in RUNNER_FILES:
        shutil.copyfile(here / name, task_dir / name)
    shutil.copyfile(driver, task_dir / "driver.py")
    listing = []
    for index, case in enumerate(cases):
        file = f"case{index}"
        np.savez(task_dir / "inputs" / f"{file}.npz", **case.inputs)
        listing.append({"name": case.name, "task": case.task, "params": case.params, "file": file})
    (task_dir / "task.json").write_text(json.dumps({"package": package, "cases": listing}), encoding="utf-8")


def _set_workspace(task_dir: Path, workspace: str) -> None:
    task_file = task_dir / "task.json"
    task = json.loads(task_file.read_text(encoding="utf-8"))
    task["workspace"] = workspace
    task_file.write_text(json.dumps(task), encoding="utf-8")


def _fallback_workspace(workdir: Path, package_dir: Path, package_name: str) -> Path:
    """Without bwrap the child gets a private copy it may scribble on."""
    work = workdir / "workspace"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(package_dir, work / package_name)
    os.chmod(work, 0o777)
    return work


def _collect(proc: subprocess.Popen, result_fd: int, limits: Limits, clock: CaseClock) -> tuple[dict, str, int]:
    """Reads stdout, stderr and the result pipe until the child exits, a case's limit, or a byte cap.

    Once the main process has exited, leftovers get a short grace to drain; a daemon holding the
    pipes open cannot keep the run alive.
    """
    selector = selectors.DefaultSelector()
    streams: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray(), "result": bytearray()}
    sizes = dict.fromkeys(streams, 0)
    for name, fileobj in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        selector.register(fileobj, selectors.EVENT_READ, name)
    result_file = os.fdopen(result_fd, "rb", buffering=0)
    selector.register(result_file, selectors.EVENT_READ, "result")
    keep = {"stdout": limits.stdout_kb * 1024, "stderr": limits.stdout_kb * 1024, "result": limits.output_mb * MiB}
    ended = "finished"
    returncode: int | None = None
    grace_end, next_check = math.inf, 0.0
    try:
        while selector.get_map():
            if returncode is None and (returncode := proc.poll()) is not None:
                grace_end = time.monotonic() + EXIT_GRACE_S
            if returncode is None and time.monotonic() >= next_check:  # not per chunk: a flood stays cheap
                next_check = time.monotonic() + POLL_S / 2
                if over := clock.over():
                    ended = "cpu" if over == "cpu" else "timeout"
                    break
            if time.monotonic() >= grace_end:
                break
            wait = clock.poll_s() if returncode is None else min(POLL_S, grace_end - time.monotonic())
            for key, _ in selector.select(timeout=max(wait, 0.001)):
                chunk = os.read(key.fileobj.fileno(), 1 << 16)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                name = key.data
                sizes[name] += len(chunk)
                if len(streams[name]) < keep[name]:
                    streams[name] += chunk[: keep[name] - len(streams[name])]
                if name == "result":
                    clock.scan(streams["result"])
            if sizes["result"] > keep["result"] or sizes["stdout"] + sizes["stderr"] > limits.output_mb * MiB:
                ended = "output"
                break
        while ended == "finished" and returncode is None and (returncode := proc.poll()) is None:
            if over := clock.over():  # the pipes are closed but the child still runs
                ended = "cpu" if over == "cpu" else "timeout"
                break
            _await_exit(proc, max(clock.poll_s(), 0.001))
    finally:
        clock.stop()
        _kill(proc)
        selector.close()
        result_file.close()
    final = proc.wait()
    return streams, ended, final if returncode is None else returncode


def _await_exit(proc: subprocess.Popen, timeout: float) -> None:
    """Returns once the process has exited or `timeout` has passed, whichever comes first (it is
    reaped by the caller's next poll()).

    Once the sandbox's pipes close, bwrap still tears its namespaces down: under a millisecond on
    an idle machine, several when the other cores are busy. A fixed sleep of POLL_S there cost a
    sandbox run 17-50 ms with two graders side by side (six runs per HW5 submission: a batch on
    two workers scaled 76-79 % instead of 94-95 %); a pidfd wakes the moment the process ends.
    Without pidfds (Linux < 5.3) Popen.wait's short backoff does nearly as well.
    """
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfds here, or the process is already reaped
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
        return
    try:
        select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the whole session; bwrap's pid namespace takes every descendant with it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pipe in (proc.stdout, proc.stderr):
        if pipe:
            pipe.close()


def _reap(proc: subprocess.Popen, isolation: Isolation) -> None:
    """Kills whatever the student left running under its uid (daemons that escaped the group).

    An exec'd `setpriv ... kill -KILL -1`, never a Python fork: forking this threaded process
    while another thread is inside BLAS deadlocks on OpenBLAS's fork handlers.
    """
    if isolation.uid is not None:
        subprocess.run(reap_command(isolation.uid), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

def _classify_end(ended: str, returncode: int) -> str:
    if ended != "finished":
        return ended
    if returncode == -signal.SIGXCPU or returncode == 128 + signal.SIGXCPU:
        return "cpu"
    if returncode != 0:
        return "crashed"
    return "finished"


def _text(data: bytes, limits: Limits) -> str:
    text = data.decode("utf-8", errors="replace")
    if len(data) >= limits.stdout_kb * 1024:
        text += f"\n[... output cut at {limits.stdout_kb} KiB ...]"
    return text


def _parse_records(data: bytes, outcome: RunOutcome, max_frames: int) -> None:
    """Turns frames into records; a started case with no result is the one that hung or crashed.

    The runner writes a start and a result frame per case and one final frame: frames beyond
    that were forged by the student and are not read.
    """
    frames, problem = protocol.decode_frames(bytes(data), max_frames)
    outcome.problem = problem
    for frame in frames:
        header = frame.header
        name = str(header.get("case", ""))
        if header.get("event") == "start":
            outcome.records[name] = CaseRecord(name, _unfinished_status(outcome.ended))
        elif header.get("event") == "result" and name in outcome.records:
            record = outcome.records[name]
            record.status = str(header.get("status", "error"))
            record.error = header.get("error") if isinstance(header.get("error"), dict) else None
            record.seconds = _seconds(header.get("seconds"))
            if frame.payload:
                try:
                    record.arrays = protocol.npz_to_arrays(frame.payload)
                except Exception as exc:  # noqa: BLE001 - any malformed payload is the child's fault
                    record.status = "error"
                    record.error = {"type": "ProtocolError", "message": f"unreadable outputs: {exc}", "traceback": ""}


def _seconds(value: object) -> float:
    """The child's own timing if it is a plain finite number (a forged 10**400 overflows float())."""
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
        return float(value)
    return 0.0


def _unfinished_status(ended: str) -> str:
    return {"timeout": "timeout", "cpu": "timeout", "memory": "memory", "output": "output"}.get(ended, "crashed")

