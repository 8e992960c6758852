"""Grading step: time limits per case, isolate-style: the reference's own CPU cost on this machine, measured once and cached.

"Too slow" means more CPU seconds than `multiple` x what the reference solution needs for the
same group of cases here (never below `floor_s`); the wall clock is only a safety net derived from
that limit (`TimePolicy`). CPU time, unlike the wall clock, does not grow when the machine is
busy, so two graders side by side or a loaded server cannot make correct code "too slow".

The reference's cost depends on the machine (CPU model, core count, BLAS) and on the code (the
reference and the template's given code, driver, checks, the declaration), so the cache file is
named by a hash of both: another machine, another BLAS or an edited case is measured afresh.
Grading measures lazily what it lacks, one grader at a time (a file lock); `grade
calibrate-limits` measures everything up front. The cache lives in AUTOGRADER_CACHE_DIR, else the
user's cache folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from autograder.assignment import Assignment, TimePolicy
from autograder.sandbox.supervisor import RUNNER_FILES, TimeLimit

CACHE_ENV = "AUTOGRADER_CACHE_DIR"
CALIBRATION_LIMIT = TimeLimit(cpu_s=3600.0, wall_s=7200.0)  # the reference is measured, never stopped
CODE_SUFFIXES = (".py", ".pyx")


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("intro2ai-autograder"))


def machine_identity() -> dict[str, str]:
    """What makes the reference's CPU time differ between machines."""
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "blas": _blas(),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError):  # numpy < 1.26 has no dict mode
        return "unknown"
    return f"{blas.get('name')} {blas.get('version')} {blas.get('openblas configuration', '')}".strip()


def code_digest(assignment: Assignment) -> str:
    """sha256 of the code a measured case runs: reference and given code, driver and checks, the runner.

    The cases themselves (parameters, input shapes, BLAS threads, data) are in each group's key,
    so editing a multiple in the declaration keeps the measurements; editing a case does not.
    """
    digest = hashlib.sha256()
    sandbox = Path(__file__).parents[1] / "sandbox"
    files = [(assignment.root, assignment.root / name) for name in ("driver.py", "checks.py")]
    files += [(sandbox, sandbox / name) for name in RUNNER_FILES]
    for root in (assignment.reference_dir / assignment.package, assignment.template_dir / assignment.package):
        files += [(root, p) for p in sorted(root.rglob("*")) if p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts]
    for root, path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def group_key(question: str, group: str, blas_threads: int, data: str | None, shape: object) -> str:
    """A group's entry: the same cases (declared parameters, input shapes) at the same BLAS thread count."""
    fingerprint = hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{question}/{group}/threads={blas_threads}/data={data}/{fingerprint}"


def derive(policy: TimePolicy, reference_cpu_s: float) -> TimeLimit:
    """The named numbers of the policy applied to one measured reference cost."""
    cpu = max(policy.floor_s, policy.multiple * reference_cpu_s)
    wall = policy.wall_multiple * cpu + policy.wall_slack_s
    return TimeLimit(round(cpu, 3), round(wall, 3), round(policy.busy_wall_multiple * wall, 3))


@dataclass
class ReferenceCosts:
    """The cached reference CPU seconds of every measured group, for one machine and one code version."""

    path: Path
    identity: dict[str, str]
    code: str
    costs: dict[str, float]

    @classmethod
    def open(cls, assignment: Assignment, folder: Path | None = None) -> ReferenceCosts:
        identity, code = machine_identity(), code_digest(assignment)
        name = hashlib.sha256(json.dumps([identity, code], sort_keys=True).encode()).hexdigest()[:16]
        costs = cls(Path(folder or cache_dir()) / f"time-limits-{assignment.id}-{name}.json", identity, code, {})
        costs._reload()
        return costs

    def _reload(self) -> None:
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            self.costs = {str(k): float(v) for k, v in stored.get("costs", {}).items()}
        except (OSError, ValueError, AttributeError):  # absent, or torn by hand: measure again
            self.costs = {}

    def get(self, key: str) -> float | None:
        return self.costs.get(key)

    def ensure(self, key: str, measure: Callable[[], float | None]) -> float | None:
        """The cached cost, or `measure()` once under the cache's lock (other graders wait, then read it)."""
        if key in self.costs:
            return self.costs[key]
        with self._locked():
            self._reload()
            if key not in self.costs:
                value = measure()
                if value is None:  # the reference itself did not run: the fixed limits apply
                    return None
                self.costs[key] = round(value, 4)
                self._write()
        return self.costs[key]

    def forget(self) -> None:
        with self._locked():
            self.costs = {}
            self._write()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self) -> None:
        document = {"identity": self.identity, "code_sha256": self.code, "costs": dict(sorted(self.costs.items()))}
        partial = self.path.with_suffix(".part")
        partial.write_text(json.dumps(document, indent=1), encoding="utf-8")
        os.replace(partial, self.path)
