"""A case starved of a CPU on an overloaded machine is computing, not waiting: the wall net never
stops it as a student's timeout. The overload is made deterministic, not by loading the machine:
the sandbox's processes share a CPU cgroup capped at 2 % of one core (cgroup v1 cpu.cfs_quota_us,
or cgroup v2 cpu.max), so a computing case gets under IDLE_SHARE (5 %) of its wall time as CPU,
as on a machine with more than 20 runnable tasks per core. A case that sleeps is still stopped by
the wall net. Without a readable cpu.pressure the run-queue delay of /proc schedstat is used;
without either, the old rule (CPU share alone) is kept and the starved case is stopped again.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from grading_helpers import make_zip, reference_files

from autograder.assignment import Limits, load_assignment
from autograder.grading.run import (
    CaseBudget,
    GradingContext,
    RunOptions,
    calibrate_limits,
    case_verdict,
    expand_cases,
    grade_zip,
)
from autograder.sandbox import supervisor
from autograder.sandbox.cgroup import ROOT, SlotCgroup, cgroup_version
from autograder.sandbox.command import bwrap_path, isolation_for, sandbox_uid
from autograder.sandbox.slots import sandbox_slot
from autograder.sandbox.supervisor import (
    IDLE_SHARE,
    CaseRecord,
    RunOutcome,
    SandboxCase,
    TimeLimit,
    run_cases,
)

QUOTA = 0.02  # of one core: under IDLE_SHARE, as a machine with 50 runnable tasks per core gives
PERIOD_US = 100_000
V1_CPU = ROOT / "cpu"

DRIVER = '''
import time
import numpy as np


def compute(inputs, params):
    """Burns a fixed amount of CPU time (measured as CPU time, so the same under any cap)."""
    start = time.process_time()
    while time.process_time() - start < params["cpu_s"]:
        pass
    return {"x": inputs["x"] * 2}


def sleep(inputs, params):
    time.sleep(3600)
    return {"x": inputs["x"]}
'''

LIMIT = TimeLimit(cpu_s=5.0, wall_s=1.0, busy_wall_s=120.0)  # the wall net at 1 s
CASE_CPU_S = 0.1  # 5 s of wall time at QUOTA: well past the wall net
START_UP = TimeLimit(cpu_s=5.0, wall_s=60.0, busy_wall_s=120.0)  # the first case is charged the start-up too


def _throttle_dir() -> Path | None:
    """A CPU cgroup the test may cap: v1's cpu hierarchy, else None (v2 caps the slot's own folder)."""
    return V1_CPU / f"autograder-test-starve-{os.getpid()}" if (V1_CPU / "cpu.cfs_quota_us").exists() else None


def _needs_throttle() -> str | None:
    if bwrap_path() is None:
        return "bubblewrap cannot create namespaces here"
    if os.geteuid() != 0 or cgroup_version() is None:
        return "no per-run cgroups here (needs root and a writable cgroup hierarchy)"
    if cgroup_version() == 1 and _throttle_dir() is None:
        return "cgroup v1 without a cpu hierarchy: no CPU cap to starve a run with"
    return None


needs_throttle = pytest.mark.skipif(_needs_throttle() is not None, reason=_needs_throttle() or "")


@contextmanager
def starved(monkeypatch) -> Iterator[None]:
    """Every sandbox run of the block shares QUOTA of one core (its start-up included)."""
    real = supervisor.slot_cgroup
    folder = _throttle_dir()
    caps: list[Path] = []

    def capped(uid: int, memory_mb: int, processes: int) -> SlotCgroup | None:
        cgroup = real(uid, memory_mb, processes)
        if cgroup is None:
            return None
        if cgroup.version == 1:
            folder.mkdir(exist_ok=True)
            (folder / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (folder / "cpu.cfs_quota_us").write_text(str(int(QUOTA * PERIOD_US)))
            return dataclasses.replace(cgroup, dirs=(*cgroup.dirs, folder))
        cap = cgroup.dirs[0] / "cpu.max"
        if not cap.exists():
            pytest.skip("cgroup v2 without the cpu controller on the slot: no CPU cap to starve a run with")
        cap.write_text(f"{int(QUOTA * PERIOD_US)} {PERIOD_US}")
        caps.append(cap)
        return cgroup

    monkeypatch.setattr(supervisor, "slot_cgroup", capped)
    try:
        yield
    finally:
        for cap in caps:
            cap.write_text(f"max {PERIOD_US}")
        if folder is not None and folder.exists():
            for pid in (folder / "cgroup.procs").read_text().split():  # none left: the run kills all its tasks
                (V1_CPU / "cgroup.procs").write_text(pid)
            folder.rmdir()


def run(tmp_path: Path, cases: list[SandboxCase]) -> RunOutcome:
    package = tmp_path / "pkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    with sandbox_slot() as slot:
        isolation = isolation_for(sandbox_uid(slot), allow_weaker=False)
        return run_cases(cases, package, "pkg", driver, Limits(), tmp_path / "work", isolation)


def case(name: str, task: str, limit: TimeLimit = LIMIT, cpu_s: float = CASE_CPU_S) -> SandboxCase:
    return SandboxCase(name, task, {"cpu_s": cpu_s}, {"x": np.arange(3.0)}, limit)


def cases(*more: SandboxCase) -> list[SandboxCase]:
    """A first case that takes the start-up (interpreter, numpy: starved too) under a generous wall net, then `more`."""
    return [case("starts", "compute", START_UP, cpu_s=0.0), *more]


@pytest.fixture
def meters(monkeypatch) -> list[supervisor.WaitMeter]:
    """The wait meters the runs made, to read which source each used."""
    made: list[supervisor.WaitMeter] = []

    class Recorded(supervisor.WaitMeter):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(supervisor, "WaitMeter", Recorded)
    return made


@needs_throttle
@pytest.mark.parametrize("source", ["cpu.pressure", "schedstat"])
def test_a_starved_computing_case_runs_on_and_a_sleeping_one_is_stopped(tmp_path, monkeypatch, meters, source):
    if source == "schedstat":
        monkeypatch.setattr(SlotCgroup, "runnable_wait_seconds", lambda self: None)
    with starved(monkeypatch):
        outcome = run(tmp_path, cases(case("computes", "compute"), case("sleeps", "sleep")))
    assert [m.source for m in meters] == [source]
    computes, sleeps = outcome.records["computes"], outcome.records["sleeps"]
    assert computes.status == "ok" and computes.killed_by == "", (computes, outcome.stderr)
    np.testing.assert_array_equal(computes.arrays["x"], np.arange(3.0) * 2)
    # it really was starved past its wall net: it got under IDLE_SHARE of its wall time as CPU
    assert computes.wall_s > LIMIT.wall_s and computes.cpu_s < IDLE_SHARE * computes.wall_s, computes
    assert computes.wait_s is not None and computes.cpu_s + computes.wait_s >= IDLE_SHARE * computes.wall_s
    assert sleeps.status == "timeout" and sleeps.killed_by == "wall", sleeps
    assert sleeps.wait_s is not None and sleeps.cpu_s + sleeps.wait_s < IDLE_SHARE * sleeps.wall_s


@needs_throttle
def test_without_a_wait_measure_the_old_rule_stops_the_starved_case(tmp_path, monkeypatch, meters):
    """What happened before the fix, still the fallback where no wait is measurable: stopped as waiting."""
    monkeypatch.setattr(SlotCgroup, "runnable_wait_seconds", lambda self: None)
    monkeypatch.setattr(supervisor, "SCHEDSTAT", tmp_path / "no-schedstat")
    with starved(monkeypatch):
        outcome = run(tmp_path, cases(case("computes", "compute")))
    assert [m.source for m in meters] == ["none"]
    computes = outcome.records["computes"]
    assert computes.status == "timeout" and computes.killed_by == "wall" and computes.wait_s is None, computes


@needs_throttle
def test_a_starved_case_is_stopped_at_the_busy_net_as_the_machine_s_fault(tmp_path, monkeypatch):
    """Starved past `busy_wall_s`: stopped, and marked "busy" (the grader's fault), never "wall" (waiting)."""
    with starved(monkeypatch):
        outcome = run(tmp_path, cases(case("computes", "compute", dataclasses.replace(LIMIT, busy_wall_s=2.0))))
    computes = outcome.records["computes"]
    assert computes.status == "timeout" and computes.killed_by == "busy", computes


# ---------------------------------------------------------------- through the grade: the score tells the truth


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


def starved_grade(tmp_path, monkeypatch, assignment, busy_wall_multiple: float) -> dict:
    """Grades the reference's Q1 starved, its cost measured first (unstarved, as on a grader's first run)."""
    fast = dataclasses.replace(assignment, time_policy=dataclasses.replace(
        assignment.time_policy, floor_s=0.5, wall_slack_s=1.0, busy_wall_multiple=busy_wall_multiple))  # fmt: skip
    options = RunOptions(seed=4, only=("Q1",), skip_groups=("overfit", "train"), run_notebook=False,
                         cache_dir=tmp_path / "costs", workdir=tmp_path / "work")  # fmt: skip
    calibrate_limits(fast, dataclasses.replace(options, only=("Q1",)))
    zip_path = make_zip(tmp_path / "submit.zip", reference_files(assignment))
    with starved(monkeypatch):
        return grade_zip(zip_path, fast, options).to_json()


@needs_throttle
def test_a_correct_submission_keeps_its_points_on_a_starved_machine(tmp_path, monkeypatch, hw5):
    result = starved_grade(tmp_path, monkeypatch, hw5, busy_wall_multiple=40.0)
    assert result["status"] == "graded", result["message"]
    q1 = result["questions"][0]
    assert q1["score"] == q1["max_score"], (q1["message"], q1["cases"])
    first = q1["cases"][0]["time"]  # charged the starved start-up: past its wall net, yet not stopped
    assert first["wall_s"] > first["wall_limit_s"] and first["cpu_s"] < IDLE_SHARE * first["wall_s"], first
    assert first["wait_s"] is not None and first["cpu_s"] + first["wait_s"] >= IDLE_SHARE * first["wall_s"]


@needs_throttle
def test_a_start_up_starved_past_the_busy_net_is_a_grader_fault_saying_so(tmp_path, monkeypatch, hw5):
    result = starved_grade(tmp_path, monkeypatch, hw5, busy_wall_multiple=1.0)
    assert result["status"] == "error" and result["score"] is None, result["message"]
    assert "could not start after 3 tries: the machine was too busy" in result["message"], result["message"]


@pytest.mark.parametrize(("killed_by", "wait_s", "status", "said"), [
    ("wall", 0.0, "timeout", "used only 0.01 s of CPU and waited 0.0 s for one: it was waiting"),
    ("wall", None, "timeout", "its wait for a CPU was not measurable here: judged on CPU time alone"),
    ("busy", 59.2, "error", "too busy to finish this case (0.0 s of CPU in 60 s of wall time and waited 59.2 s"),
])  # fmt: skip
def test_the_verdict_follows_why_the_supervisor_stopped_the_case(hw5, killed_by, wait_s, status, said):
    """"wall" (waiting) is the student's timeout; "busy" (starved past the busy net) is the grader's fault."""
    case = expand_cases(hw5.question("Q1"), 0, GradingContext(hw5, 1, "embedded"))[0]
    record = CaseRecord(case.name, "timeout", cpu_s=0.01, wall_s=60.0, wait_s=wait_s, killed_by=killed_by)
    budget = CaseBudget(TimeLimit(cpu_s=2.0, wall_s=16.0, busy_wall_s=60.0), reference_cpu_s=0.1)
    result = case_verdict(case, record, ({}, {}), GradingContext(hw5, 1, "embedded"), hw5.checks(), hw5.limits, budget)
    assert result.status == status and said in result.message, result.message
    assert result.timing.wait_s == wait_s
