"""Sandbox step: child side of the preflight check: starts exactly as the runner does, imports numpy, writes and
reads the workspace, and reports the runtime and BLAS it saw as one JSON document.

Started as `python -I -B probe.py TASK_DIR RESULT_FD`. No student code is involved: a failure here
is the grader's environment, never a submission.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(task_dir: str, result_fd: str) -> int:
    task = json.loads((Path(task_dir) / "task.json").read_text(encoding="utf-8"))
    import numpy as np

    probe = Path(task["workspace"]) / "preflight.npy"
    np.save(probe, np.arange(4.0))
    report = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "numpy": np.__version__,
        "workspace_ok": np.load(probe, allow_pickle=False).tolist() == [0.0, 1.0, 2.0, 3.0],
        "uid": os.getuid(),
        "blas": _blas(),
    }
    with os.fdopen(int(result_fd), "wb") as out:
        out.write(json.dumps(report).encode("utf-8"))
    return 0


def _blas() -> list[str]:
    """The BLAS libraries numpy loaded and their thread counts, as the sandbox sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["(threadpoolctl not installed: BLAS unknown)"]
    return [f"{i.get('internal_api')} {i.get('version')} threads={i.get('num_threads')} ({i.get('filepath')})"
            for i in threadpool_info()]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
