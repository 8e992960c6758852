"""Sandbox step: sandbox slots: each concurrent run holds a numbered lock, and so its own unprivileged uid.

Like isolate's box ids: two runs never share a uid, so per-uid limits (RLIMIT_NPROC) and the
post-run sweep that kills every process of that uid cannot touch a neighbour, across threads
and processes alike.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SLOT_COUNT = 4096
LOCK_DIR = Path(tempfile.gettempdir()) / "autograder-slots"


@contextmanager
def sandbox_slot(start: int | None = None) -> Iterator[int]:
    """Holds the first free slot (searching from a pid-derived start) for the duration."""
    LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    first = (os.getpid() * 7) % SLOT_COUNT if start is None else start
    for offset in range(SLOT_COUNT):
        slot = (first + offset) % SLOT_COUNT
        handle = open(LOCK_DIR / f"{slot}.lock", "a+b")  # noqa: SIM115 - held for the context
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield slot
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    raise RuntimeError(f"all {SLOT_COUNT} sandbox slots are busy")
