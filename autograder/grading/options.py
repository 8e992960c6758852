"""Grading step: the options of a grading run, chosen once by the CLI and carried unchanged everywhere.

Standard library only: batch workers unpickle it before numpy may be imported (one BLAS thread each).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class RunOptions:
    """How submissions are graded: chosen once (the CLI) and carried as is to batch workers, the
    Gradescope bundle and the audit; a worker only sets what is its own (`replace`: the student, one BLAS thread).

    `to_json`/`from_json` carry the choices (not the progress callback or local folders) in a file.
    """

    seed: int | None = None
    data: str | None = None
    only: tuple[str, ...] = ()  # question ids; empty = all
    skip_groups: tuple[str, ...] = ()  # e.g. ("train",) to leave out the training target
    parallel: int = 1
    max_blas_threads: int | None = None  # cap on declared BLAS threads (batch workers use 1)
    workdir: Path | None = None
    student: str | None = None
    progress: Callable[[str], None] | None = None
    run_notebook: bool = True  # execute the submitted notebook (after the questions)
    artifacts_dir: Path | None = None  # where the executed notebook and its HTML go
    cache_dir: Path | None = None  # where the reference's measured costs live (time_limits.cache_dir())
    allow_weaker_isolation: bool = False  # grade with the rlimits-only runner where bubblewrap cannot work


    def to_json(self) -> dict[str, Any]:
        return {name: list(getattr(self, name)) if name in ("only", "skip_groups") else getattr(self, name)
                for name in SHIPPED_OPTIONS}  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RunOptions:
        known = {k: tuple(v) if k in ("only", "skip_groups") else v for k, v in raw.items() if k in SHIPPED_OPTIONS}
        return cls(**known)


SHIPPED_OPTIONS = ("seed", "data", "only", "skip_groups", "parallel", "max_blas_threads", "run_notebook",
                   "allow_weaker_isolation")  # fmt: skip
