"""Sandbox step: child side: executes a submitted notebook with nbclient inside the sandbox, one framed record per cell.

Started as `python -I -B nbrunner.py TASK_DIR RESULT_FD`. The kernel is always this runtime's
own python3 ipykernel, started here, so its ZMQ sockets stay on the sandbox's loopback; the
kernel the notebook names is ignored. Every code cell runs (an error does not stop the run, stdin
is refused); a cell past its timeout or a dead kernel ends the run. Outputs are capped per cell
and in total before they are sent. The parent re-validates every record, and no score comes
from anything a cell prints.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import encode_frame  # noqa: E402  (the sandbox mounts us alone)

KERNEL_NAME = "python3"
PR_SET_DUMPABLE = 4
ERROR_TEXT_LIMIT = 2000
PAYLOAD_SLACK = 64 * 1024  # JSON escaping and metadata around a capped cell


class RuntimeKernelSpecs(KernelSpecManager):
    """Every kernel name resolves to this interpreter's ipykernel, whatever the notebook asks for."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        argv = [sys.executable, "-s", "-B", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        return KernelSpec(argv=argv, display_name="Python 3", language="python",
                          resource_dir=str(Path(__file__).resolve().parent))  # fmt: skip


class CappedClient(NotebookClient):
    """An nbclient that stops keeping a cell's outputs past `cell_cap` characters."""

    def __init__(self, nb, km, cell_cap: int, **kwargs) -> None:
        super().__init__(nb, km, **kwargs)
        self.cell_cap = cell_cap
        self.cell_size = 0
        self.reply: dict = {}

    def output(self, outs, msg, display_id, cell_index):
        size = _content_size(msg.get("content") or {})
        room = self.cell_cap - self.cell_size
        self.cell_size += size
        if size <= room:
            return super().output(outs, msg, display_id, cell_index)
        if msg.get("msg_type") == "stream" and room > 0:
            msg["content"]["text"] = str(msg["content"].get("text", ""))[:room]
            return super().output(outs, msg, display_id, cell_index)
        return None


def _content_size(content: dict) -> int:
    """Characters an output message would add: its text, data values or traceback."""
    if "text" in content:
        return len(str(content["text"]))
    if isinstance(content.get("data"), dict):
        return sum(len(str(v)) for v in content["data"].values())
    return sum(len(str(line)) for line in content.get("traceback") or []) + 256


def main(task_dir: str, result_fd: str) -> NoReturn:
    _undumpable()
    task = json.loads((Path(task_dir) / "task.json").read_text(encoding="utf-8"))
    out = os.fdopen(int(result_fd), "wb", buffering=0)
    private = tempfile.mkdtemp(prefix="nbrunner-")  # connection files and IPython's profile: not in the workspace
    os.environ.update(JUPYTER_RUNTIME_DIR=private, IPYTHONDIR=private, JUPYTER_PLATFORM_DIRS="1")
    os.environ.update({str(k): str(v) for k, v in task.get("env", {}).items()})
    nb = nbformat.read(Path(task_dir) / task["notebook"], as_version=4)
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=RuntimeKernelSpecs())
    client = CappedClient(
        nb, km, int(task["cell_output_chars"]), timeout=int(task["cell_timeout_s"]),
        startup_timeout=int(task["startup_timeout_s"]), allow_errors=True, record_timing=False,
        shutdown_kernel="immediate", kernel_name=KERNEL_NAME,
    )  # fmt: skip
    client.on_cell_executed = lambda cell, cell_index, execute_reply: client.reply.update(execute_reply or {})
    try:
        asyncio.run(_execute(client, task, out))
    except Exception as exc:  # noqa: BLE001 - the kernel did not start, or nbclient itself failed
        out.write(encode_frame({"event": "fatal", "error": _error(type(exc).__name__, str(exc))}))
    out.write(encode_frame({"event": "done"}))
    out.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # never hang in interpreter teardown (ZMQ context termination)


async def _execute(client: CappedClient, task: dict, out) -> None:
    """Runs the code cells in order; a timeout or a dead kernel ends the run."""
    started = time.monotonic()
    cell_cap = int(task["cell_output_chars"])
    caps = {"cell": cell_cap, "payload": 2 * cell_cap + PAYLOAD_SLACK, "left": int(task["notebook_bytes"])}
    async with client.async_setup_kernel(cleanup_kc=True, cwd=task["workspace"]):
        out.write(encode_frame({"event": "kernel", "seconds": round(time.monotonic() - started, 3)}))
        for index, cell in enumerate(client.nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            out.write(encode_frame({"event": "start", "index": index}))
            header = await _run_cell(client, cell, index)
            out.write(_cell_frame(header, cell, caps))
            if header["status"] in ("timeout", "dead"):
                break


async def _run_cell(client: CappedClient, cell, index: int) -> dict:
    client.cell_size, client.reply = 0, {}
    started = time.monotonic()
    header: dict = {"event": "cell", "index": index, "status": "ok", "error": None}
    try:
        await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        content = client.reply.get("content") or {}
        if content.get("status") != "ok":
            header["status"] = "error"
            header["error"] = _error(content.get("ename", "Error"), content.get("evalue", ""))
    except CellTimeoutError:
        header["status"] = "timeout"
        header["error"] = _error("CellTimeoutError", f"the cell ran longer than {client.timeout} s")
    except DeadKernelError:
        header["status"] = "dead"
        header["error"] = _error("DeadKernelError", "the kernel died while running this cell")
    header["seconds"] = round(time.monotonic() - started, 3)
    header["execution_count"] = cell.get("execution_count")
    header["output_chars"] = client.cell_size
    return header


def _cell_frame(header: dict, cell, caps: dict) -> bytes:
    """The record for one cell: status header + a one-cell notebook (JSON) holding its outputs.

    Outputs past the per-cell cap were never kept; a cell whose JSON still comes out too big (or
    past what is left of the notebook's budget) is sent with a note instead of its outputs.
    """
    header["truncated"] = header["output_chars"] > caps["cell"]
    if header["truncated"]:
        cell.outputs.append(_note(f"this cell produced {header['output_chars']:,} characters of output; "
                                  f"only the first {caps['cell']:,} are kept"))  # fmt: skip
    payload = _one_cell(cell)
    if len(payload) > min(caps["payload"], caps["left"]):
        header["truncated"] = True
        cell.outputs = [_note(f"this cell's outputs ({len(payload):,} bytes) exceed what the grader keeps")]
        payload = _one_cell(cell)
    caps["left"] -= len(payload)
    return encode_frame(header, payload)


def _one_cell(cell) -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[cell])).encode("utf-8")


def _note(text: str):
    return nbformat.v4.new_output("stream", name="stderr", text=f"[grader] {text}\n")


def _error(name: object, value: object) -> dict:
    return {"ename": str(name)[:200], "evalue": str(value)[:ERROR_TEXT_LIMIT]}


def _undumpable() -> None:
    """Hides /proc/<pid>/fd of this process from the kernel (same uid), so it cannot forge records."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
