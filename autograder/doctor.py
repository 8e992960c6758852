"""Command line step: `grade doctor`: owns describing this host's sandbox, one labelled line per fact, ending with the preflight.

Everything a TA needs before trusting a batch: whether bubblewrap starts and user namespaces
work, which uid student code runs as, the cgroup that caps memory and processes, the runtime and
what of it is bound into the sandbox, the BLAS numpy loads there, and the preflight's verdict.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import Limits
from autograder.sandbox import cgroup
from autograder.sandbox.command import (
    grader_is_root,
    masked_paths,
    probe_bwrap,
    python_roots,
    reachable_by_others,
)
from autograder.sandbox.preflight import PreflightFailed, preflight
from autograder.sandbox.supervisor import wait_source


@dataclass(frozen=True)
class Finding:
    label: str
    text: str
    ok: bool = True


@dataclass(frozen=True)
class Diagnosis:
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        """Grading can start: the preflight (the last finding) passed."""
        return self.findings[-1].ok


def diagnose(limits: Limits, allow_weaker: bool) -> Diagnosis:
    findings = [_bwrap(), _user_namespaces(), _uid_drop(), _cgroups(), _cpu_wait(), *_runtime(),
                *_preflight(limits, allow_weaker)]  # fmt: skip
    return Diagnosis(findings)


def _bwrap() -> Finding:
    probe = probe_bwrap()
    if probe.works:
        return Finding("bubblewrap", f"{probe.version or 'bwrap'} at {probe.path}: starts with pid and network namespaces")
    where = f"{probe.version} at {probe.path}: " if probe.path else ""
    return Finding("bubblewrap", f"{where}{probe.error}", ok=False)


def _user_namespaces() -> Finding:
    """Needed by a non-root grader (bwrap --unshare-user); a root grader drops to slot uids instead."""
    path = shutil.which("bwrap")
    if path is None:
        return Finding("user namespaces", "not tested (no bwrap)", ok=False)
    run = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-user", "true"], capture_output=True, text=True,
                         timeout=10)  # fmt: skip
    needed = "not needed as root" if grader_is_root() else "needed: the grader is not root"
    if run.returncode == 0:
        return Finding("user namespaces", f"work ({needed})")
    why = (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1]
    return Finding("user namespaces", f"do not work: {why} ({needed})", ok=grader_is_root())


def _uid_drop() -> Finding:
    if not grader_is_root():
        return Finding("uid drop", "none: the grader is not root; under bwrap the child is uid 65534 in a user namespace")
    runtime = Path(sys.executable)
    reach = "reachable by" if reachable_by_others(runtime) else "NOT reachable by (so rlimits-only would refuse)"
    return Finding("uid drop", f"root drops each run to a slot uid 60000+ with setpriv ({shutil.which('setpriv')}); "
                   f"the runtime is {reach} other users")  # fmt: skip


def _cgroups() -> Finding:
    version = cgroup.cgroup_version()
    if version is None:
        return Finding("cgroup", "no writable memory+pids cgroup: memory is capped per process only (RLIMIT_AS)")
    if version == 2:
        names = (cgroup.ROOT / "cgroup.controllers").read_text().split()
    else:  # v1: one hierarchy folder per controller
        names = sorted(p.name for p in cgroup.ROOT.iterdir() if p.is_dir())
    return Finding("cgroup", f"v{version}, controllers: {' '.join(names)}; memory and pids capped per run")


CPU_WAIT = {
    "cpu.pressure": "each run's cgroup cpu.pressure: a case starved of a CPU on a busy machine counts as computing",
    "schedstat": "/proc schedstat run-queue delay of the run's processes (no cgroup cpu.pressure here): a case "
                 "starved of a CPU counts as computing",
    "none": "not measurable (no cgroup cpu.pressure, no /proc schedstat): the wall net judges on CPU share "
            "alone, so on a machine with over ~20 runnable tasks per core a computing case may be stopped as waiting",
}  # fmt: skip


def _cpu_wait() -> Finding:
    """How the wall net tells a case waiting on purpose from one starved by an overloaded machine."""
    source = wait_source(cgroup.pressure_readable())
    return Finding("CPU wait", CPU_WAIT[source])


def _runtime() -> list[Finding]:
    roots = python_roots()
    masks = masked_paths()
    return [
        Finding("runtime", f"Python {sys.version.split()[0]} at {sys.executable} (prefix {sys.prefix})"),
        Finding("bound read-only", ", ".join(roots)),
        Finding("masked", ", ".join(masks) if masks else "nothing (no installed copy of the grader in the runtime)"),
    ]


def _preflight(limits: Limits, allow_weaker: bool) -> list[Finding]:
    try:
        result = preflight(limits, allow_weaker)
    except PreflightFailed as exc:
        return [Finding("preflight", f"FAILED: {exc}", ok=False)]
    isolation = result.isolation
    return [
        Finding("BLAS in the sandbox", "; ".join(result.blas) or "none found"),
        Finding("preflight", f"passed in {result.seconds:.2f} s: {isolation.kind}, uid {result.uid}, Python "
                f"{result.python}, numpy {result.numpy}, workspace writable"
                + (f"; WARNING: {isolation.warning}" if isolation.warning else "")),
    ]  # fmt: skip


def render(diagnosis: Diagnosis) -> str:
    width = max(len(f.label) for f in diagnosis.findings)
    return "\n".join(f"{'ok ' if f.ok else '!! '} {f.label:<{width}}  {f.text}" for f in diagnosis.findings)
