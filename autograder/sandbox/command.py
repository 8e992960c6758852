"""Sandbox step: parent side: builds the sandbox command line (bubblewrap, or the weaker rlimits-only fallback).

Inside the sandbox the child sees: a read-only system and Python runtime, its task folder
(runner, protocol, driver, inputs) read-only at /sandbox/task, the student's package read-only
inside a size-capped writable tmpfs workspace at /sandbox/work, a capped tmpfs /tmp and
/dev/shm, a fresh /proc of its own pid namespace, no network, and nothing else: no grader
code, no reference, no other submission, no home directory.
"""

from __future__ import annotations

import math
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from autograder.assignment import Limits

TASK_MOUNT = "/sandbox/task"
WORK_MOUNT = "/sandbox/work"
SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group")
SYSTEM_CONFIG_DIRS = ("/etc/fonts",)  # fontconfig: matplotlib in a notebook looks fonts up with fc-list
PRIVATE_MOUNTS = ("/tmp", "/dev/shm", WORK_MOUNT)  # private tmpfs mounted before the runtime is bound
UNPRIVILEGED_UID_BASE = 60000


@dataclass(frozen=True)
class Isolation:
    """What protection a run actually had; recorded in every result."""

    kind: str  # "bwrap" | "rlimits-only"
    uid: int | None
    warning: str | None


class SandboxUnavailable(Exception):
    """The sandbox cannot run here as configured; the message names the cause and the fix."""


@dataclass(frozen=True)
class BwrapProbe:
    """Whether bubblewrap is here and can make the namespaces a run needs, and if not, why."""

    path: str | None
    version: str | None
    error: str | None  # None when it works

    @property
    def works(self) -> bool:
        return self.path is not None and self.error is None


@lru_cache(maxsize=1)
def probe_bwrap() -> BwrapProbe:
    """Starts `bwrap ... true` once with the namespaces of a real run (user namespace included as non-root)."""
    if os.environ.get("AUTOGRADER_NO_BWRAP"):
        return BwrapProbe(None, None, "switched off by AUTOGRADER_NO_BWRAP")
    path = shutil.which("bwrap")
    if path is None:
        return BwrapProbe(None, None, "bubblewrap (bwrap) is not installed")
    version = _first_line(subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout)
    userns = [] if os.geteuid() == 0 else ["--unshare-user"]
    probe = subprocess.run(
        [path, "--ro-bind", "/", "/", *userns, "--unshare-pid", "--unshare-net", "--die-with-parent", "true"],
        capture_output=True, text=True, timeout=10,
    )  # fmt: skip
    if probe.returncode == 0:
        return BwrapProbe(path, version, None)
    said = probe.stderr.strip().splitlines()
    why = said[-1][:300] if said else f"exit code {probe.returncode}"
    return BwrapProbe(path, version, f"bubblewrap cannot create namespaces here ({why})")


def bwrap_path() -> str | None:
    """The bubblewrap binary, if present and able to create namespaces here."""
    probe = probe_bwrap()
    return probe.path if probe.works else None


def isolation_for(uid: int | None, allow_weaker: bool) -> Isolation:
    """bubblewrap where it works; else the rlimits-only runner, only when allowed and never as root.

    Raises SandboxUnavailable (cause and fix) instead of quietly grading with less protection.
    """
    probe = probe_bwrap()
    if probe.works:
        return Isolation("bwrap", uid, None)
    if not allow_weaker:
        raise SandboxUnavailable(f"{probe.error}: {_bwrap_fix(probe)}, or accept weaker isolation "
                                 "with --allow-weaker-isolation (see docs/security.md)")  # fmt: skip
    if grader_is_root() and (uid is None or not reachable_by_others(Path(sys.executable))):
        raise SandboxUnavailable(
            f"{probe.error}, and the rlimits-only runner never runs student code as root: the Python runtime "
            f"{sys.executable} is not reachable by other users (fix: install the grader in a virtualenv "
            "outside /root, or make every folder above the runtime world-searchable)"
        )
    warning = (
        f"weaker isolation allowed (--allow-weaker-isolation): {probe.error}; student code ran with resource "
        "limits only, without bubblewrap's namespaces: it could read world-readable files and use the network."
    )
    return Isolation("rlimits-only", uid, warning)


def grader_is_root() -> bool:
    return os.geteuid() == 0


def _bwrap_fix(probe: BwrapProbe) -> str:
    if probe.path is None:
        return "install it (apt-get install bubblewrap)"
    if grader_is_root():
        return ("as root it needs mount namespaces: run the grader on the host or in a container allowed to "
                "create namespaces (e.g. docker --security-opt seccomp=unconfined --cap-add SYS_ADMIN)")  # fmt: skip
    return ("allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu "
            "kernel.apparmor_restrict_unprivileged_userns=0), or run the grader as root")  # fmt: skip


def _first_line(text: str) -> str:
    return " ".join(text.strip().splitlines()[:1])[:300]


def reachable_by_others(path: Path) -> bool:
    """Whether an unprivileged uid can run this interpreter (every parent folder world-searchable)."""
    return all(os.stat(p).st_mode & 0o001 for p in [*path.resolve().parents, path.resolve()])


def sandbox_uid(slot: int) -> int | None:
    """A per-slot unprivileged uid when we are root (RLIMIT_NPROC is not enforced for uid 0)."""
    return UNPRIVILEGED_UID_BASE + slot % 5000 if os.geteuid() == 0 else None


def python_roots() -> list[str]:
    """Folders holding the interpreter and its packages, mounted read-only."""
    roots = {sys.base_prefix, sys.prefix, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    roots.update(p for p in site.getsitepackages() if Path(p).is_dir())
    return sorted(r for r in roots if Path(r).exists())


def runtime_binds() -> list[str]:
    """The runtime read-only at its own path, over the private /tmp (a virtualenv under /tmp is
    otherwise hidden by it), with the grader code an installed copy would expose masked."""
    args: list[str] = []
    for root in python_roots():
        args += _traversable_parents(root) + ["--ro-bind", root, root]
    for mask in masked_paths():
        args += ["--tmpfs", mask]
    return args


def masked_paths() -> list[str]:
    """Grader code that an installed (non-editable) copy would expose inside site-packages."""
    masks = []
    for root in python_roots():
        for name in ("autograder", "reference", "assignments"):
            candidate = Path(root) / name
            if candidate.is_dir():
                masks.append(str(candidate))
    return masks


def child_environment(limits: Limits) -> dict[str, str]:
    threads = str(limits.blas_threads)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": WORK_MOUNT,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "NUMEXPR_NUM_THREADS": threads,
        "PYTHONHASHSEED": "0",
        **{k: v for k, v in os.environ.items() if k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
    }


def bwrap_command(
    task_dir: Path, package_dir: Path, package_name: str, limits: Limits, uid: int | None, argv: list[str]
) -> list[str]:
    """The bubblewrap argv: mounts, namespaces, environment, then the uid drop and the runner."""
    cmd = [bwrap_path() or "bwrap"]
    for path in SYSTEM_DIRS:
        if Path(path).exists() and not Path(path).is_symlink():
            cmd += ["--ro-bind", path, path]
        elif Path(path).is_symlink():
            cmd += ["--symlink", os.readlink(path), path]
    cmd += ["--perms", "0755", "--dir", "/etc"]  # else bwrap makes it 0700 root: untraversable after the uid drop
    for path in SYSTEM_FILES + SYSTEM_CONFIG_DIRS:
        if Path(path).exists():
            cmd += ["--ro-bind", path, path]
    tmp_bytes = str(limits.tmp_mb * 1024 * 1024)
    # bwrap makes tmpfs root-owned 0755: unwritable after the uid drop, so /tmp-style sticky 1777.
    writable = ["--perms", "01777", "--size", tmp_bytes, "--tmpfs"]
    cmd += [
        "--proc", "/proc",
        "--dev", "/dev",
        *writable, "/tmp",
        *writable, "/dev/shm",
        *writable, WORK_MOUNT,
        *runtime_binds(),
        "--ro-bind", str(package_dir), f"{WORK_MOUNT}/{package_name}",
        "--ro-bind", str(task_dir), TASK_MOUNT,
        "--remount-ro", "/",
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "sandbox",
        "--die-with-parent", "--new-session",
        "--chdir", WORK_MOUNT,
        "--clearenv",
    ]  # fmt: skip
    for key, value in child_environment(limits).items():
        cmd += ["--setenv", key, value]
    if uid is not None:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", *setpriv_prefix(uid)]
    else:
        cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--"]
    return cmd + rlimit_prefix(limits, uid) + argv


def fallback_command(limits: Limits, uid: int | None, argv: list[str]) -> list[str]:
    """Without bwrap: the same rlimits and uid drop, and nothing else."""
    return (setpriv_prefix(uid) if uid is not None else []) + rlimit_prefix(limits, uid) + argv


def rlimit_prefix(limits: Limits, uid: int | None) -> list[str]:
    """`prlimit` sets the limits after the uid drop, just before Python starts.

    Set by an exec'd tool rather than a `preexec_fn`, so the grader never runs Python code in a
    forked copy of its threaded self. RLIMIT_NPROC counts per real uid, so it is set only for our
    own sandbox uid (for any other uid it would count that user's unrelated processes).
    """
    mib = 1024 * 1024
    cpu = math.ceil(limits.cpu_limit_s) + 1  # a backstop: the supervisor measures and kills per case first
    flags = [
        f"--as={limits.memory_mb * mib}", f"--cpu={cpu}", f"--fsize={limits.file_size_mb * mib}",
        f"--nofile={limits.open_files}", "--core=0",
    ]  # fmt: skip
    if uid is not None:
        flags.append(f"--nproc={limits.processes}")
    return [shutil.which("prlimit") or "/usr/bin/prlimit", *flags, "--"]


def reap_command(uid: int) -> list[str]:
    """Kills every process of a sandbox uid: `kill -1` as that uid reaches exactly those."""
    return [*setpriv_prefix(uid), shutil.which("kill") or "/usr/bin/kill", "-s", "KILL", "--", "-1"]


def _traversable_parents(path: str) -> list[str]:
    """Parent folders created world-traversable (a runtime under /root would otherwise be unreachable)."""
    args: list[str] = []
    for parent in reversed(Path(path).parents[:-1]):
        if str(parent) not in (*SYSTEM_DIRS, *PRIVATE_MOUNTS):
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def setpriv_prefix(uid: int) -> list[str]:
    """Drops to an unprivileged uid with no capabilities before any student code runs."""
    return [
        shutil.which("setpriv") or "/usr/bin/setpriv",
        f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
        "--",
    ]  # fmt: skip
