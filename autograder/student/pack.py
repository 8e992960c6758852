"""Student step: student side: builds `submit.zip` from a working copy, refusing what the grader would reject.

The zip holds exactly the files the assignment asks for, at their package paths, plus a
MANIFEST.json with sha256 hashes. It is deterministic (sorted entries, fixed timestamps).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.archive import write_zip
from autograder.assignment import MANIFEST_NAME, Assignment


class PackError(Exception):
    """A one-line reason the working copy cannot be packed, with the file and the fix."""


@dataclass(frozen=True)
class Packed:
    path: Path
    files: dict[str, str]  # archive name -> sha256
    skipped: tuple[str, ...]


def pack(
    assignment: Assignment, working_copy: Path, out: Path, require_notebook: bool = True, unrun_notebook: bool = False
) -> Packed:
    """Checks each file (present, compiles, notebook executed and saved) and writes the zip.

    `unrun_notebook` packs a notebook that was never run (the demo grades the reference one).
    """
    chosen: dict[str, Path] = {}
    skipped: list[str] = []
    for spec in assignment.files:
        path = working_copy / spec.dest
        if spec.kind == "notebook" and not require_notebook:
            skipped.append(spec.dest)
            continue
        if not path.is_file():
            if spec.required or spec.kind == "notebook":
                raise PackError(f"{spec.dest} is missing from {working_copy} — save your work there and pack again")
            skipped.append(spec.dest)
            continue
        if not (spec.kind == "notebook" and unrun_notebook):
            _check(path, spec.kind, spec.dest)
        chosen[spec.dest] = path
    digests = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in chosen.items()}
    manifest = {"assignment": assignment.id, "version": assignment.version, "files": digests}
    entries = {name: path.read_bytes() for name, path in chosen.items()}
    write_zip(out, {**entries, MANIFEST_NAME: json.dumps(manifest, indent=2, sort_keys=True)})
    return Packed(out, digests, tuple(skipped))


def _check(path: Path, kind: str, name: str) -> None:
    if kind == "python":
        try:
            compile(path.read_text(encoding="utf-8-sig"), name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise PackError(f"{name} line {exc.lineno}: {exc.msg} — fix the syntax error and pack again") from exc
        except UnicodeDecodeError as exc:
            raise PackError(f"{name} is not UTF-8 text — save it as UTF-8 and pack again") from exc
    elif kind == "notebook":
        _check_notebook(path, name)


def _check_notebook(path: Path, name: str) -> None:
    """The notebook must be valid and saved after running: every code cell has run, in order."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for a broken file
        raise PackError(f"{name} is not a readable notebook ({exc.__class__.__name__}) — re-save it from Jupyter") from exc
    code = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    unrun = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    if unrun:
        raise PackError(
            f"{name}: {len(unrun)} of {len(code)} code cells have not been run — run all cells "
            "(Kernel > Restart & Run All), save, and pack again"
        )
