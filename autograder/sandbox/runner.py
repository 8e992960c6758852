"""Sandbox step: child side: the only grader code that runs inside the sandbox, next to the student's code.

Started as `python -I -B runner.py TASK_DIR RESULT_FD`. It reads `task.json`, imports the
assignment's driver, runs each case on its `.npz` inputs and writes one framed record per case to
the result pipe. It computes nothing that is judged and holds no expected values: whatever it
writes is re-validated by the parent, so a student who patches this process gains nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import arrays_to_npz, encode_frame  # noqa: E402  (the sandbox mounts us alone)

TRACEBACK_LIMIT = 4000


def main(task_dir: str, result_fd: str) -> int:
    task = json.loads((Path(task_dir) / "task.json").read_text(encoding="utf-8"))
    out = os.fdopen(int(result_fd), "wb", buffering=0)
    sys.path.insert(0, task["workspace"])
    os.chdir(task["workspace"])
    driver = _load_driver(Path(task_dir) / "driver.py")
    for case in task["cases"]:
        out.write(encode_frame({"event": "start", "case": case["name"]}))
        header, arrays = _run_case(driver, Path(task_dir), case)
        _flush_prints()
        out.write(encode_frame(header, arrays_to_npz(arrays) if arrays else b""))
    out.write(encode_frame({"event": "done"}))
    out.close()
    return 0


def _load_driver(path: Path):
    spec = importlib.util.spec_from_file_location("assignment_driver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_case(driver, task_dir: Path, case: dict) -> tuple[dict, dict]:
    """Runs one case; every exception (SystemExit and KeyboardInterrupt too) becomes a status."""
    started = time.perf_counter()
    header: dict = {"event": "result", "case": case["name"]}
    arrays: dict = {}
    try:
        with np.load(task_dir / "inputs" / f"{case['file']}.npz", allow_pickle=False) as archive:
            inputs = {name: archive[name] for name in archive.files}
        returned = getattr(driver, case["task"])(inputs, case["params"])
        arrays, rejected = _plain_arrays(returned)
        header["status"] = "error" if rejected else "ok"
        if rejected:
            header["error"] = {"type": "TypeError", "message": "; ".join(rejected), "traceback": ""}
    except BaseException as exc:  # noqa: BLE001 - student code may raise anything, even SystemExit
        header["status"] = "not_implemented" if isinstance(exc, NotImplementedError) else "error"
        header["error"] = {
            "type": type(exc).__name__,
            "message": _safe_str(exc)[:1000],
            "traceback": _safe_traceback(exc)[-TRACEBACK_LIMIT:],
        }
    header["seconds"] = round(time.perf_counter() - started, 4)
    return header, arrays


def _flush_prints() -> None:
    """What the student printed reaches the grader even if a later case gets the run killed."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a replaced or closed stream
            pass


def _plain_arrays(returned: object) -> tuple[dict, list[str]]:
    """Keeps exactly-ndarray numeric outputs; names everything else so the parent can explain."""
    if type(returned) is not dict:
        return {}, [f"the driver got {type(returned).__name__}, not a dict of arrays"]
    arrays, rejected = {}, []
    for name, value in returned.items():
        if type(value) is not np.ndarray:
            rejected.append(f"{name}: returned {type(value).__name__}, expected numpy.ndarray")
        elif value.dtype.hasobject or value.dtype.kind not in "biuf":
            rejected.append(f"{name}: dtype {value.dtype} is not a numeric dtype")
        else:
            arrays[str(name)] = value
    return arrays, rejected


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "<unprintable exception>"


def _safe_traceback(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except BaseException:  # noqa: BLE001
        return ""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
