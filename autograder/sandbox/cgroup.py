"""Sandbox step: parent side: a memory, process-count and CPU-accounting cgroup per sandbox slot, where allowed.

RLIMIT_AS caps each process alone: a run that forks can hold processes x memory_mb. A cgroup
caps the run's total (memory.limit_in_bytes / memory.max) and its task count (pids.max), counts
OOM kills so the verdict can say "memory", counts the CPU time of every process of the run
(cpuacct.usage / cpu.stat usage_usec: the time limit, as isolate and DOMjudge measure it) and
lists every process of the run for the final kill. cgroup v1 (memory + pids (+ cpuacct)
hierarchies) and v2 (unified, controllers enabled at the root) are supported; without write
access the grader falls back to rlimits and says so in the result.

The CPU pressure of the run (`cpu.pressure` "some": time at least one of its tasks was runnable
but waiting for a CPU) tells a case starved by an overloaded machine from one that waits on
purpose (a sleep, a lock). It is a cgroup v2 file: under v2 the slot's own folder has it; under
v1 the slot also gets a folder in the v2 hierarchy mounted beside (`unified`, no controllers
needed), where the kernel has one.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CPUACCT = ROOT / "cpuacct"  # v1: the cpuacct hierarchy (often a link to "cpu,cpuacct")
UNIFIED = ROOT / "unified"  # v1 hosts: the v2 hierarchy mounted beside ("hybrid"), for cpu.pressure
GROUP = "autograder"
LAUNCHER_TASKS = 2  # bwrap outside and its pid-1 inside also live in the cgroup


@dataclass(frozen=True)
class SlotCgroup:
    """The cgroup folders of one slot (one per controller in v1, one in v2)."""

    version: int
    dirs: tuple[Path, ...]
    cpu_dir: Path | None = None  # v1: the cpuacct folder (None when that hierarchy is absent)
    pressure_dir: Path | None = None  # the folder whose cpu.pressure is the slot's (None: none here)

    def enter_prefix(self) -> list[str]:
        """A shell that moves itself into the cgroup, then execs the real command (no Python fork)."""
        moves = "; ".join(f'echo $$ > "{d}/cgroup.procs"' for d in self.dirs)
        return ["/bin/sh", "-c", f'{moves} && exec "$@"', "sh"]

    def oom_kills(self) -> int:
        if self.version == 1:
            text = _read(self.dirs[0] / "memory.oom_control")
            return int(text.split("oom_kill ")[1].split()[0]) if "oom_kill " in text else 0
        events = _read(self.dirs[0] / "memory.events")
        return next((int(line.split()[1]) for line in events.splitlines() if line.startswith("oom_kill ")), 0)

    def cpu_seconds(self) -> float | None:
        """CPU time every process that ever ran in the cgroup consumed (cumulative; None: unknown)."""
        if self.version == 1:
            text = _read(self.cpu_dir / "cpuacct.usage") if self.cpu_dir else ""
            return int(text) / 1e9 if text.strip().isdigit() else None
        stat = _read(self.dirs[0] / "cpu.stat")
        usec = next((line.split()[1] for line in stat.splitlines() if line.startswith("usage_usec ")), None)
        return int(usec) / 1e6 if usec and usec.isdigit() else None

    def runnable_wait_seconds(self) -> float | None:
        """Time at least one task of the cgroup was runnable but not running (cumulative; None: unknown)."""
        text = _read(self.pressure_dir / "cpu.pressure") if self.pressure_dir else ""
        some = next((line for line in text.splitlines() if line.startswith("some ")), "")
        total = some.rsplit("total=", 1)[-1] if "total=" in some else ""
        return int(total) / 1e6 if total.isdigit() else None

    def kill_all(self, patience_s: float = 2.0) -> None:
        """SIGKILL every task in the cgroup (daemons included) until it is empty.

        Waits for the tasks to be gone, not just signalled: the slot's next run shares the
        cgroup's pids.max, and dying tasks still count against it.
        """
        deadline = time.monotonic() + patience_s
        while time.monotonic() < deadline:
            pids = {int(p) for d in self.dirs for p in _read(d / "cgroup.procs").split()}
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.005)


def slot_cgroup(uid: int, memory_mb: int, processes: int) -> SlotCgroup | None:
    """The cgroup of a sandbox uid (one per slot), set to these limits; None where not writable."""
    layout = _layout()
    if layout is None:
        return None
    version, parents = layout
    dirs = tuple(parent / f"uid-{uid}" for parent in parents)
    cpu_dir = None
    if version == 1 and (CPUACCT / "cgroup.procs").exists() and _make((CPUACCT / GROUP, CPUACCT / GROUP / f"uid-{uid}")):
        cpu_dir = CPUACCT / GROUP / f"uid-{uid}"
    try:
        for d in dirs:
            d.mkdir(exist_ok=True)
        if version == 1:
            (dirs[0] / "memory.limit_in_bytes").write_text(str(memory_mb * 1024 * 1024))
            (dirs[1] / "pids.max").write_text(str(processes + LAUNCHER_TASKS))
        else:
            (dirs[0] / "memory.max").write_text(str(memory_mb * 1024 * 1024))
            (dirs[0] / "memory.swap.max").write_text("0")
            (dirs[0] / "pids.max").write_text(str(processes + LAUNCHER_TASKS))
    except OSError:
        return None
    pressure_dir = _pressure_dir(version, dirs[0], uid)
    extra = tuple(d for d in (cpu_dir, pressure_dir) if d and d not in dirs)
    return SlotCgroup(version, dirs + extra, cpu_dir, pressure_dir)


def _pressure_dir(version: int, slot_dir: Path, uid: int) -> Path | None:
    """Where the slot's cpu.pressure is: its own folder under v2, a folder in the v1 host's unified hierarchy."""
    if version == 2:
        return slot_dir if (slot_dir / "cpu.pressure").exists() else None
    if not (UNIFIED / "cpu.pressure").exists() or not _make((UNIFIED / GROUP, UNIFIED / GROUP / f"uid-{uid}")):
        return None
    folder = UNIFIED / GROUP / f"uid-{uid}"
    return folder if (folder / "cpu.pressure").exists() else None


@lru_cache(maxsize=1)
def _layout() -> tuple[int, tuple[Path, ...]] | None:
    """Where slot cgroups can live: v1 memory+pids hierarchies, else the v2 root, else nowhere."""
    if os.environ.get("AUTOGRADER_NO_CGROUP"):
        return None
    v1 = (ROOT / "memory", ROOT / "pids")
    if all((d / "cgroup.procs").exists() for d in v1):
        parents = tuple(d / GROUP for d in v1)
        return (1, parents) if _make(parents) else None
    controllers = _read(ROOT / "cgroup.controllers").split()
    if {"memory", "pids"} <= set(controllers):
        parent = ROOT / GROUP
        if _make((parent,)):
            try:
                (ROOT / "cgroup.subtree_control").write_text("+memory +pids")
                (parent / "cgroup.subtree_control").write_text("+memory +pids")
            except OSError:
                return None
            return 2, (parent,)
    return None


def pressure_readable() -> bool:
    """Whether slot cgroups here get a cpu.pressure file (as root): v2's own, or v1's unified hierarchy beside."""
    layout = _layout() if os.geteuid() == 0 else None
    if layout is None:
        return False
    return (layout[1][0] / "cpu.pressure").exists() if layout[0] == 2 else (UNIFIED / "cpu.pressure").exists()


def cgroup_version() -> int | None:
    """1 or 2 when slot cgroups can be made here (as root), else None."""
    layout = _layout() if os.geteuid() == 0 else None
    return layout[0] if layout else None


def _make(dirs: tuple[Path, ...]) -> bool:
    try:
        for d in dirs:
            d.mkdir(exist_ok=True)
    except OSError:
        return False
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
