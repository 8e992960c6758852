"""Grading step: notebook grading: owns checking a submitted notebook against the template, running it in the sandbox, and its result section and artifacts.

The notebook is rebuilt from its cell sources alone (outputs, metadata and the student's kernel
choice are dropped; tags that would hide a failure are removed), compared cell by cell with the
template's notebook, and executed by `sandbox/nbrunner.py` in the same sandbox as the rest,
against the student's workspace package, with the environment its `[notebook]` table sets. What comes back is
parsed as JSON (nbformat, never pickle) and validated before it is saved or rendered. A
notebook's problems cost only the notebook items: no score ever comes from what a cell prints.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import nbformat

from autograder.assignment import Assignment, NotebookSettings
from autograder.grading.intake import Submission, submission_stem
from autograder.grading.result import NotebookSection, Result
from autograder.sandbox import protocol
from autograder.sandbox.command import isolation_for, sandbox_uid
from autograder.sandbox.slots import sandbox_slot
from autograder.sandbox.supervisor import TaskRun, run_task

KiB, MiB = 1024, 1024 * 1024
STRIPPED_TAGS = frozenset({"raises-exception", "skip-execution"})
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
RUNNER_FILES = ("nbrunner.py", "protocol.py")
# The kernel, its ZMQ threads and sockets need more than a case runner's defaults.
NOTEBOOK_LIMITS = {"open_files": 256, "processes": 64}
PAYLOAD_SLACK = 64 * KiB  # as in nbrunner.py: JSON escaping and metadata around a capped cell
SOURCE_EXCERPT = 400
CSP = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       "style-src 'unsafe-inline'; img-src data:; font-src data:\">")  # fmt: skip
CELL_STATUSES = ("ok", "error", "timeout", "dead")
# What a rendered notebook needs (markdown, tables, highlighted code, inline images); anything else in
# a student's HTML or markdown is shown escaped. No `style`: a student's CSS could hide a failing cell.
SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li",
    "mark", "ol", "p", "pre", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
})  # fmt: skip


class NotebookProblem(Exception):
    """The submitted notebook cannot be run: one line for the student, cause and fix."""


# ---------------------------------------------------------------- reading and checking


def load_notebook(data: bytes) -> nbformat.NotebookNode:
    """A fresh nbformat-4 notebook built from the cell sources of `data`; NotebookProblem if unusable."""
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise NotebookProblem("the file is not UTF-8 text — save it again from Jupyter") from exc
    except (ValueError, RecursionError) as exc:
        raise NotebookProblem(f"the file is not valid JSON ({_first_line(exc)}) — it may be truncated or "
                              "not a notebook; save it again from Jupyter") from exc  # fmt: skip
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookProblem("the file is JSON but not a Jupyter notebook (no list of cells)")
    if raw.get("nbformat") != 4:
        raise NotebookProblem(f"the notebook is in format {raw.get('nbformat')!r}, not nbformat 4 — "
                              "open it in Jupyter and save it again")  # fmt: skip
    cells = [_fresh_cell(n, c) for n, c in enumerate(raw["cells"], 1)]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotebookProblem(f"the notebook is not valid: {_first_line(exc)}") from exc
    return nb


def _fresh_cell(number: int, raw: Any) -> nbformat.NotebookNode:
    """Source and tags only: outputs, ids and metadata (hidden inputs, kernels) are not carried over."""
    kind = raw.get("cell_type") if isinstance(raw, dict) else None
    source = raw.get("source", "") if isinstance(raw, dict) else None
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if kind not in ("code", "markdown", "raw") or not isinstance(source, str):
        raise NotebookProblem(f"cell {number} is not a code, markdown or raw cell with text")
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
            "raw": nbformat.v4.new_raw_cell}[kind]  # fmt: skip
    cell = make(source)
    tags = (raw.get("metadata") or {}).get("tags") if isinstance(raw.get("metadata"), dict) else None
    kept = [t for t in tags if isinstance(t, str) and t not in STRIPPED_TAGS] if isinstance(tags, list) else []
    if kept:
        cell.metadata["tags"] = kept
    return cell


@dataclass(frozen=True)
class Structure:
    """How a submitted notebook's cells line up with the template's (indices into each notebook)."""

    edited: tuple[int, ...]  # template cells whose text the student changed
    added: tuple[int, ...]  # submitted cells that match no template cell
    problems: tuple[str, ...]  # deleted, duplicated or reordered cells


def compare_structure(template: nbformat.NotebookNode, submitted: nbformat.NotebookNode) -> Structure:
    """Aligns the non-empty cells by (type, normalised text); edits in place are allowed, and so are
    new cells, but every template cell must still be there, once, in the template's order."""
    t_pos, t_keys = _keys(template)
    s_pos, s_keys = _keys(submitted)
    t_set, s_set = set(t_keys), set(s_keys)
    edited: list[int] = []
    added: list[int] = []
    missing: list[int] = []
    displaced: list[int] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, t_keys, s_keys, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        displaced += [j for j in range(j1, j2) if s_keys[j] in t_set]
        fresh = [j for j in range(j1, j2) if s_keys[j] not in t_set]
        for i in (i for i in range(i1, i2) if t_keys[i] not in s_set):
            match = next((j for j in fresh if s_keys[j][0] == t_keys[i][0]), None)
            if match is None:
                missing.append(i)
                continue
            at = fresh.index(match)
            added += fresh[:at]
            fresh = fresh[at + 1 :]
            edited.append(t_pos[i])
        added += fresh
    problems = [f"{_describe(template, t_pos[i])} is missing (deleted, or changed beyond recognition)" for i in missing]
    for j in displaced:
        key = s_keys[j]
        twice = s_keys.count(key) > t_keys.count(key)
        what = "appears more than once" if twice else "is out of the template's order"
        problems.append(f"{_describe(submitted, s_pos[j])} {what}")
    return Structure(tuple(edited), tuple(s_pos[j] for j in sorted(added)), tuple(dict.fromkeys(problems)))


def _keys(nb: nbformat.NotebookNode) -> tuple[list[int], list[tuple[str, str]]]:
    """Positions and (cell type, text without trailing spaces or blank edges) of non-empty cells."""
    pos, keys = [], []
    for n, cell in enumerate(nb.cells):
        text = "\n".join(line.rstrip() for line in cell.source.strip().splitlines())
        if text:
            pos.append(n)
            keys.append((cell.cell_type, text))
    return pos, keys


def _describe(nb: nbformat.NotebookNode, index: int) -> str:
    cell = nb.cells[index]
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index + 1} ({cell.cell_type}: {first[:60]!r})"


def check_notebook(data: bytes, template: nbformat.NotebookNode | None) -> tuple[nbformat.NotebookNode, Structure]:
    """The notebook to execute and how it lines up with the template; NotebookProblem if unusable."""
    nb = load_notebook(data)
    structure = compare_structure(template, nb) if template is not None else Structure((), (), ())
    if structure.problems:
        shown = "; ".join(structure.problems[:3])
        more = f" (+{len(structure.problems) - 3} more)" if len(structure.problems) > 3 else ""
        raise NotebookProblem(f"its cells do not match the released notebook: {shown}{more} — start from the "
                              "released notebook and keep every cell once, in order (adding cells is fine)")  # fmt: skip
    return nb, structure


# ---------------------------------------------------------------- running


def grade_notebook(
    settings: NotebookSettings, submission: Submission, assignment: Assignment, package_dir: Path,
    workdir: Path, artifacts_dir: Path | None = None, label: str | None = None, allow_weaker: bool = False,
) -> tuple[NotebookSection, dict[str, str]]:  # fmt: skip
    """The result's `notebook` section and the artifact paths written (executed .ipynb and .html)."""
    name = settings.file.name
    section = _section(settings)
    if name in submission.broken:
        return _unrun(section, "malformed", f"{name} cannot be used: {submission.broken[name]}"), {}
    if name not in submission.files:
        return _unrun(section, "missing", f"{name} is not in the zip"), {}
    template = load_notebook(settings.template.read_bytes()) if settings.template.is_file() else None
    try:
        nb, structure = check_notebook(submission.files[name].read_bytes(), template)
    except NotebookProblem as exc:
        return _unrun(section, "malformed", f"{name}: {exc}"), {}
    section.update(edited_cells=list(structure.edited), added_cells=list(structure.added),
                   code_cells=sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip()))  # fmt: skip
    if template is None:
        section["warnings"].append(f"the template notebook {settings.template} is missing: cell order not checked")
    run = _execute(nb, settings, assignment, package_dir, workdir / "notebook", allow_weaker)
    _read_run(run, nb, settings, section)
    if artifacts_dir is None:
        return NotebookSection(**section), {}
    stem = submission_stem(label, submission.sha256)
    return NotebookSection(**section), write_artifacts(nb, Path(artifacts_dir), f"{stem}.{Path(name).stem}")


def _section(settings: NotebookSettings) -> dict[str, Any]:
    return {
        "file": settings.file.name, "status": "error", "ran_cleanly": False, "message": "",
        "first_failure": None, "elapsed_s": 0.0, "cells_executed": 0, "code_cells": 0,
        "edited_cells": [], "added_cells": [], "truncated_cells": [], "warnings": [],
        "data": settings.data or None, "env": dict(settings.env),
        "cell_timeout_s": settings.cell_timeout_s, "total_timeout_s": settings.total_timeout_s,
    }  # fmt: skip


def _unrun(section: dict[str, Any], status: str, message: str) -> NotebookSection:
    section.update(status=status, message=message)
    return NotebookSection(**section)


def _limits(settings: NotebookSettings, assignment: Assignment):
    output_mb = settings.notebook_mb + 2 * settings.cell_output_kb // KiB + 2
    return assignment.limits.with_overrides(**{**NOTEBOOK_LIMITS, **settings.limits},
                                            timeout_s=settings.total_timeout_s, output_mb=output_mb)  # fmt: skip


def _execute(nb: nbformat.NotebookNode, settings: NotebookSettings, assignment: Assignment, package_dir: Path,
             workdir: Path, allow_weaker: bool) -> TaskRun:  # fmt: skip
    """Runs nbrunner.py on `nb` in a sandbox of its own; the data set is generated in there."""
    task_dir = workdir / "task"
    task_dir.mkdir(parents=True, exist_ok=True)
    for script in RUNNER_FILES:
        shutil.copyfile(Path(__file__).parents[1] / "sandbox" / script, task_dir / script)
    nbformat.write(nb, task_dir / "notebook.ipynb")
    task = {
        "notebook": "notebook.ipynb", "cell_timeout_s": settings.cell_timeout_s,
        "startup_timeout_s": settings.startup_timeout_s, "cell_output_chars": settings.cell_output_kb * KiB,
        "notebook_bytes": settings.notebook_mb * MiB,
        "env": {name: str(value) for name, value in settings.env.items()},
    }  # fmt: skip
    (task_dir / "task.json").write_text(json.dumps(task), encoding="utf-8")
    with sandbox_slot() as slot:
        isolation = isolation_for(sandbox_uid(slot), allow_weaker)
        return run_task(task_dir, "nbrunner.py", package_dir, assignment.package, _limits(settings, assignment),
                        workdir, isolation)  # fmt: skip


def _read_run(run: TaskRun, nb: nbformat.NotebookNode, settings: NotebookSettings, section: dict[str, Any]) -> None:
    """Fills `nb` with the validated outputs of each reported cell and `section` with the verdict."""
    frames, problem = protocol.decode_frames(run.result)
    cells: dict[int, dict] = {}
    events = {"kernel": False, "done": False, "fatal": None, "running": None}
    budget = {"left": settings.notebook_mb * MiB, "cell": 2 * settings.cell_output_kb * KiB + PAYLOAD_SLACK}
    for frame in frames:
        header, event = frame.header, frame.header.get("event")
        index = header.get("index")
        valid_cell = isinstance(index, int) and 0 <= index < len(nb.cells) and nb.cells[index].cell_type == "code"
        if event in ("kernel", "done"):
            events[event] = True
        elif event == "fatal":
            events["fatal"] = _error_of(header)
        elif event == "start" and valid_cell:
            events["running"] = index
        elif event == "cell" and valid_cell and header.get("status") in CELL_STATUSES:
            cells[index] = header
            _fill_cell(nb.cells[index], header, frame.payload, budget)
    section.update(elapsed_s=run.seconds, cells_executed=len(cells),
                   truncated_cells=sorted(i for i, h in cells.items() if h.get("truncated")))  # fmt: skip
    if problem:
        section["warnings"].append(f"the runner's record stream ended early: {problem}")
    _verdict(section, nb, cells, events, run, settings)


def _fill_cell(cell: nbformat.NotebookNode, header: dict, payload: bytes, budget: dict) -> None:
    """Takes a cell's outputs from its one-cell notebook, if it parses, validates and fits the caps."""
    count = header.get("execution_count")
    cell.execution_count = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else None
    outputs = None
    if len(payload) <= min(budget["cell"], budget["left"]):
        outputs = _outputs_of(payload)
        budget["left"] -= len(payload)
    if outputs is None:
        header["truncated"] = True
        outputs = [nbformat.v4.new_output("stream", name="stderr",
                                          text="[grader] this cell's outputs were too big or unreadable and are not shown\n")]  # fmt: skip
    cell.outputs = outputs


def _outputs_of(payload: bytes) -> list | None:
    capture: dict = {}
    try:
        one = nbformat.reads(payload.decode("utf-8"), as_version=4, capture_validation_error=capture)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, nbformat.reader.NotJSONError):
        return None
    if capture or len(one.cells) != 1 or one.cells[0].cell_type != "code":
        return None
    return list(one.cells[0].outputs)


def _verdict(section: dict, nb: nbformat.NotebookNode, cells: dict[int, dict], events: dict, run: TaskRun,
             settings: NotebookSettings) -> None:  # fmt: skip
    """Status, message and first failing cell, from the cell records and how the sandbox ended."""
    failing = next((i for i in sorted(cells) if cells[i]["status"] != "ok"), None)
    if events["fatal"] or not events["kernel"]:
        why = events["fatal"] or {"ename": f"sandbox {run.ended}", "evalue": _last_line(run.stderr)}
        what = "the notebook runner failed" if events["kernel"] else "the grader could not start the notebook's kernel"
        section.update(status="error", log=run.stderr[-2000:],
                       message=f"{what} ({why['ename']}: {_first_line(why['evalue'])}); the notebook was not "
                               "judged — regrade, or grade this item by hand")  # fmt: skip
        return
    if failing is not None:
        status = {"error": "failed", "timeout": "timeout", "dead": "crashed"}[cells[failing]["status"]]
        _fail(section, nb, failing, cells[failing], status)
        return
    if not events["done"]:
        where = events["running"] if events["running"] is not None and events["running"] not in cells else None
        ename, status, evalue = _killed(run, settings)
        header = {"execution_count": None, "error": {"ename": ename, "evalue": evalue}}
        if where is not None:
            _fail(section, nb, where, header, status)
        else:
            section.update(status=status, message=f"the notebook run was stopped: {evalue}")
        return
    section.update(status="passed", ran_cleanly=True,
                   message=f"all {len(cells)} code cells ran without an error in {run.seconds:.0f} s")  # fmt: skip


def _killed(run: TaskRun, settings: NotebookSettings) -> tuple[str, str, str]:
    if run.ended in ("timeout", "cpu"):
        return "TotalTimeout", "timeout", f"the notebook ran past its total budget of {settings.total_timeout_s} s and was killed"
    if run.ended == "output":
        return "OutputFlood", "crashed", "the notebook wrote too much output outside its cells and was killed"
    return "RunnerDied", "crashed", f"the notebook runner was killed or died (exit code {run.returncode})"


def _fail(section: dict, nb: nbformat.NotebookNode, index: int, header: dict, status: str) -> None:
    error = _error_of(header)
    count = nb.cells[index].execution_count or header.get("execution_count")
    where = f"cell {index + 1}" + (f" (In [{count}])" if count else "")
    section.update(
        status=status,
        message=f"{where} failed: {error['ename']}: {_first_line(error['evalue'])}",
        first_failure={"index": index, "execution_count": count, "source": nb.cells[index].source[:SOURCE_EXCERPT],
                       "error": error["ename"], "value": error["evalue"]},
    )  # fmt: skip


def _error_of(header: dict) -> dict[str, str]:
    error = header.get("error") if isinstance(header.get("error"), dict) else {}
    return {"ename": str(error.get("ename") or "Error")[:200], "evalue": str(error.get("evalue") or "")[:2000]}


# ---------------------------------------------------------------- result and artifacts


def record_notebook(result: Result, section: NotebookSection | None, artifacts: dict[str, str],
                    settings: NotebookSettings | None) -> None:  # fmt: skip
    """Puts the section and artifacts into the result; scores the auto item (None: grader's fault).

    The one place the automatic manual item is scored.
    """
    result.notebook = section
    result.artifacts.update(artifacts)
    if section is None or settings is None or not settings.auto:
        return
    for item in result.manual:
        if item.id == settings.auto:
            item.score = None if section.status == "error" else (item.max_score if section.ran_cleanly else 0.0)
            item.comment = section.message


def write_artifacts(nb: nbformat.NotebookNode, folder: Path, stem: str) -> dict[str, str]:
    """The executed notebook and its HTML rendering (sanitised, scripts and remote loads forbidden)."""
    from nbconvert import HTMLExporter

    nbformat.validate(nb)
    folder.mkdir(parents=True, exist_ok=True)
    notebook_path, html_path = folder / f"{stem}.ipynb", folder / f"{stem}.html"
    nbformat.write(nb, notebook_path)
    exporter = HTMLExporter(sanitize_html=True, exclude_anchor_links=True, filters={"clean_html": clean_html})
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": stem}})
    html_path.write_text(body.replace("<head>", "<head>\n" + CSP, 1), encoding="utf-8")
    return {"notebook": str(notebook_path), "notebook_html": str(html_path)}


def clean_html(html: str | bytes) -> str:
    """nbconvert's `clean_html` filter with a notebook-sized allowlist (its own escapes even <h1> and <p>)."""
    import bleach  # nbconvert's own sanitiser dependency

    text = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(text, tags=SAFE_TAGS, attributes=_safe_attribute, protocols={"http", "https", "mailto", "data"})


def _safe_attribute(tag: str, name: str, value: str) -> bool:
    if name in ("class", "id", "title"):
        return True
    if tag == "a" and name == "href":
        return value.startswith(("http://", "https://", "mailto:", "#"))
    if tag == "img":
        return name in ("alt", "width", "height") or (name == "src" and value.startswith("data:image/"))
    return tag in ("td", "th") and name in ("colspan", "rowspan")


def _first_line(value: object, limit: int = 300) -> str:
    lines = str(value).strip().splitlines()
    return (lines[0] if lines else "")[:limit]


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:300] if lines else ""
