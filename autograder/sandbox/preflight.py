"""Sandbox step: parent side: the preflight check, one trivial sandboxed run before anyone is graded.

It starts the runtime in the sandbox exactly as a grading run would (same command line, uid drop,
cgroup and limits), imports numpy and writes and reads the workspace. When that fails, no
submission could be graded here either: the caller stops with one line naming the cause and the
fix, instead of recording a grader fault as a class full of zeros.
"""

from __future__ import annotations

import json
import shutil
import site
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import Limits
from autograder.sandbox.command import Isolation, SandboxUnavailable, isolation_for, sandbox_uid
from autograder.sandbox.slots import sandbox_slot
from autograder.sandbox.supervisor import TaskRun, run_task

PROBE = "probe.py"
PACKAGE = "preflight_package"
MIN_TIMEOUT_S = 30.0  # starting Python and numpy on a loaded machine; a real case has its own limit


class PreflightFailed(Exception):
    """The sandbox cannot run a trivial task here; the message names the cause and the fix."""


@dataclass(frozen=True)
class Preflight:
    """What the trivial run saw inside the sandbox."""

    isolation: Isolation
    python: str
    numpy: str
    uid: int
    blas: tuple[str, ...]
    seconds: float


def preflight(limits: Limits, allow_weaker: bool, isolation: Isolation | None = None) -> Preflight:
    """Runs the probe under `isolation` (default: what grading would use here); raises PreflightFailed."""
    with tempfile.TemporaryDirectory(prefix="grade-preflight-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o711)  # as grade_zip's: a dropped uid passes through, never lists it
        task_dir, package_dir = workdir / "task", workdir / "package" / PACKAGE
        package_dir.mkdir(parents=True)
        task_dir.mkdir()
        shutil.copyfile(Path(__file__).parent / PROBE, task_dir / PROBE)
        (task_dir / "task.json").write_text("{}", encoding="utf-8")
        for path in (workdir / "package", package_dir, task_dir, task_dir / PROBE, task_dir / "task.json"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        limits = limits.with_overrides(timeout_s=max(limits.timeout_s, MIN_TIMEOUT_S))
        with sandbox_slot() as slot:
            try:
                chosen = isolation or isolation_for(sandbox_uid(slot), allow_weaker)
            except SandboxUnavailable as exc:
                raise PreflightFailed(str(exc)) from exc
            run = run_task(task_dir, PROBE, package_dir, PACKAGE, limits, workdir, chosen)
    return _read(run, chosen)


def _user_site_hint() -> str:
    """numpy from `pip install --user` is invisible to the child, which runs `python -I` (no user site)."""
    import numpy

    user_site = site.getusersitepackages()
    if not numpy.__file__.startswith(user_site):
        return ""
    return (f"; numpy is installed in the user site {user_site} (pip --user), which the sandbox's isolated "
            "Python never reads: install the grader's dependencies in a virtualenv or system-wide")  # fmt: skip


def _read(run: TaskRun, isolation: Isolation) -> Preflight:
    try:
        report = json.loads(run.result.decode("utf-8")) if run.ended == "finished" and run.returncode == 0 else None
    except ValueError:
        report = None
    if not report or not report.get("workspace_ok"):
        why = (run.stderr.strip().splitlines() or [f"it ended '{run.ended}' with exit code {run.returncode}"])[-1]
        raise PreflightFailed(
            f"the sandbox ({isolation.kind}) could not run a trivial task with the runtime {sys.executable}: "
            f"{why[:300]}{_user_site_hint()} (run `grade doctor` for the whole picture; docs/security.md lists "
            "the failure modes)"
        )
    return Preflight(isolation, str(report["python"]), str(report["numpy"]), int(report["uid"]),
                     tuple(str(b) for b in report.get("blas", [])), run.seconds)  # fmt: skip
