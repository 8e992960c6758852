"""Notebook grading: the submitted notebook runs with nbclient inside the sandbox; hostile notebooks
cost only the notebook items and never hang or flood the grader.

A tiny assignment (one trivial question, a five-cell notebook, the course's real data_utils) is
written per test, so that each sandboxed run takes seconds, not the minutes HW5 takes.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.assignment import AssignmentError, load_assignment, notebook_settings
from autograder.grading import notebook as notebook_run
from autograder.grading.intake import read_submission
from autograder.grading.notebook import (
    NotebookProblem,
    check_notebook,
    grade_notebook,
    load_notebook,
)
from autograder.grading.run import RunOptions, grade_zip
from autograder.sandbox.command import bwrap_path
from autograder.sandbox.supervisor import TaskRun

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap cannot create namespaces here")

TEMPLATE_CELLS = [
    ("markdown", "# Tiny notebook\n\nRun every cell."),
    ("code", "from intro2ai.helper import answer\nprint('answer =', answer())"),
    ("code", "from intro2ai.data_utils import get_CIFAR10_data\n"
             "data = get_CIFAR10_data(num_validation=10, num_test=10)\nprint('X_train', data['X_train'].shape)"),
    ("markdown", "## A plot and some HTML"),
    ("code", "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()"),
    ("code", "from IPython.display import HTML, display\n"
             "display(HTML('<b id=\"nb-marker\">bold marker</b><script>document.title = \"pwned\"</script>'))"),
]
TOML = """\
[assignment]
id = "tiny"
title = "Tiny"
version = "1"
package = "intro2ai"
template = "student_template/tiny"

[[files]]
name = "helper.py"
dest = "intro2ai/helper.py"

[[files]]
name = "NB.ipynb"
dest = "NB.ipynb"
kind = "notebook"
required = false

[limits]
timeout_s = 20

[notebook]
auto = "notebook_runs"
data = "embedded"
env = {{ INTRO2AI_DATA = "embedded", INTRO2AI_MAX_TRAIN = "300" }}
cell_timeout_s = {cell_timeout_s}
total_timeout_s = {total_timeout_s}
cell_output_kb = 64
notebook_mb = 2

[[questions]]
id = "Q1"
title = "answer"
points = 10
needs = ["helper.py"]
cases = [{{ name = "the answer", task = "answer", probe = "no_inputs", expect = "answer", judge = "rel_error", threshold = 1e-9 }}]

[[manual]]
id = "notebook_runs"
title = "The notebook runs top to bottom"
points = 5

[[manual]]
id = "plot"
title = "The plot"
points = 3
"""
CHECKS = """\
import numpy as np

def no_inputs(params, rng, context):
    return {}

def expect_answer(inputs, params, context):
    return {"value": np.array([42.0])}
"""
DRIVER = """\
import numpy as np

def answer(inputs, params):
    from intro2ai.helper import answer
    return {"value": np.array([float(answer())])}
"""


def notebook(cells) -> nbformat.NotebookNode:
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    nb = nbformat.v4.new_notebook(cells=[make[kind](source) for kind, source in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_assignment(root: Path, cell_timeout_s: int = 30, total_timeout_s: int = 60):
    """The tiny assignment under `root`: declaration, checks, driver and a template with the real data_utils."""
    folder = root / "assignments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(TOML.format(cell_timeout_s=cell_timeout_s, total_timeout_s=total_timeout_s))
    (folder / "checks.py").write_text(CHECKS)
    (folder / "driver.py").write_text(DRIVER)
    template = root / "student_template" / "tiny"
    package = template / "intro2ai"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copyfile(REPO / "student_template" / "hw5_cnn" / "intro2ai" / "data_utils.py", package / "data_utils.py")
    (package / "helper.py").write_text("def answer():\n    raise NotImplementedError\n")
    nbformat.write(notebook(TEMPLATE_CELLS), template / "NB.ipynb")
    return load_assignment(folder)


def make_zip(path: Path, nb: nbformat.NotebookNode | bytes | None, helper: str = "def answer():\n    return 42\n") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("helper.py", helper)
        if nb is not None:
            zf.writestr("NB.ipynb", nb if isinstance(nb, bytes) else nbformat.writes(nb))
    return path


def with_cells(extra: list[tuple[str, str]], tags: dict[int, list[str]] | None = None) -> nbformat.NotebookNode:
    """The template's notebook with `extra` cells appended (tags by position in the result)."""
    nb = notebook(TEMPLATE_CELLS + extra)
    for index, cell_tags in (tags or {}).items():
        nb.cells[index].metadata["tags"] = cell_tags
    return nb


def run_notebook(tmp_path: Path, nb, **timeouts):
    """grade_notebook alone (no questions): the section, the artifacts and the executed notebook."""
    assignment = make_assignment(tmp_path / "repo", **timeouts)
    settings = notebook_settings(assignment)
    submission = read_submission(make_zip(tmp_path / "submit.zip", nb), assignment.files, tmp_path / "intake")
    package = tmp_path / "workspace" / "intro2ai"
    shutil.copytree(assignment.template_dir / "intro2ai", package)
    shutil.copyfile(submission.files["helper.py"], package / "helper.py")
    for path in [package.parent, *package.parent.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    section, artifacts = grade_notebook(settings, submission, assignment, package, tmp_path / "work",
                                        tmp_path / "artifacts", "s1")
    executed = nbformat.read(artifacts["notebook"], as_version=4) if artifacts else None
    return dataclasses.asdict(section), artifacts, executed


def texts(cell) -> str:
    return "".join(o.get("text", "") + json.dumps(o.get("data", {})) + o.get("evalue", "") for o in cell.outputs)


# ---------------------------------------------------------------- reading and checking (no sandbox)


def template_nb() -> nbformat.NotebookNode:
    return notebook(TEMPLATE_CELLS)


@pytest.mark.parametrize(("data", "expected"), [
    (b"\x89PNG\r\n", "not UTF-8"),
    (b'{"cells": [', "not valid JSON"),
    (b"[1, 2, 3]", "not a Jupyter notebook"),
    (json.dumps({"nbformat": 3, "worksheets": [], "cells": []}).encode(), "format 3, not nbformat 4"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "code", "source": 42}], "metadata": {}}).encode(),
     "cell 1 is not a code, markdown or raw cell"),
    (b"[" * 100_000, "not valid JSON"),
])  # fmt: skip
def test_unreadable_notebooks_get_one_clear_line(data, expected):
    with pytest.raises(NotebookProblem, match=expected):
        load_notebook(data)


def test_reading_keeps_sources_and_drops_outputs_kernels_and_hiding_tags():
    nb = with_cells([("code", "1/0")], tags={6: ["raises-exception", "skip-execution", "mine"]})
    nb.metadata["kernelspec"] = {"name": "julia-1.9", "display_name": "Julia", "language": "julia"}
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="stale output\n")]
    nb.cells[1].metadata["jupyter"] = {"source_hidden": True}
    fresh = load_notebook(nbformat.writes(nb).encode("utf-8-sig"))
    assert [c.source for c in fresh.cells] == [c.source for c in nb.cells]
    assert fresh.metadata.kernelspec.name == "python3" and fresh.cells[1].outputs == []
    assert fresh.cells[1].metadata == {} and fresh.cells[6].metadata.tags == ["mine"]


def _reordered(cells, i, j):
    cells = list(cells)
    cells[i], cells[j] = cells[j], cells[i]
    return cells


@pytest.mark.parametrize(("cells", "expected"), [
    (TEMPLATE_CELLS[:2] + TEMPLATE_CELLS[3:], r"cell 3 \(code: 'from intro2ai.data_utils .*is missing"),
    (TEMPLATE_CELLS[:3] + TEMPLATE_CELLS[2:], r"cell [34] \(code: 'from intro2ai.data_utils .*appears more than once"),
    (_reordered(TEMPLATE_CELLS, 1, 2), "out of the template's order"),
    (_reordered(TEMPLATE_CELLS, 0, 3), "out of the template's order"),
    (TEMPLATE_CELLS[:4], r"cell 5 \(code: '%matplotlib inline'\) is missing.*cell 6 \(code"),
])  # fmt: skip
def test_deleted_duplicated_or_reordered_cells_are_refused(cells, expected):
    with pytest.raises(NotebookProblem, match=expected):
        check_notebook(nbformat.writes(notebook(cells)).encode(), template_nb())


def test_edited_and_added_cells_are_allowed_and_reported():
    cells = list(TEMPLATE_CELLS)
    cells[4] = ("code", "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([0, 2])")
    cells.insert(2, ("code", "print('scratch')"))
    cells.insert(0, ("code", ""))  # empty cells are ignored both ways
    _, structure = check_notebook(nbformat.writes(notebook(cells)).encode(), template_nb())
    assert structure.edited == (4,) and structure.added == (3,) and structure.problems == ()


def test_the_hw5_notebook_lines_up_with_its_template():
    hw5 = load_assignment("hw5_cnn")
    settings = notebook_settings(hw5)
    assert settings.auto == "notebook_runs" and settings.template.is_file()
    assert {m.id: m.points for m in hw5.manual} == {"notebook_runs": 5.0, "filter_visualisation": 5.0}
    template = load_notebook(settings.template.read_bytes())
    _, structure = check_notebook((REPO / "reference" / "HW5.ipynb").read_bytes(), template)
    assert structure == type(structure)((), (), ())
    swapped = nbformat.reads((REPO / "reference" / "HW5.ipynb").read_text(encoding="utf-8"), as_version=4)
    swapped.cells[27], swapped.cells[33] = swapped.cells[33], swapped.cells[27]  # the two "Print final training accuracy." cells
    with pytest.raises(NotebookProblem, match="out of the template's order"):
        check_notebook(nbformat.writes(swapped).encode(), template)


def test_unknown_notebook_settings_are_an_assignment_error(tmp_path):
    assignment = make_assignment(tmp_path)
    toml = assignment.root / "assignment.toml"
    toml.write_text(toml.read_text().replace('data = "embedded"', 'dta = "embedded"'))
    with pytest.raises(AssignmentError, match="dta"):
        notebook_settings(load_assignment(assignment.root))


def test_a_corrupt_notebook_costs_only_the_notebook_items(tmp_path):
    assignment = make_assignment(tmp_path / "repo")
    zip_path = make_zip(tmp_path / "submit.zip", b'{"nbformat": 4, "cells": [{"cell_type": "code", "sou')
    result = grade_zip(zip_path, assignment, RunOptions(seed=1, artifacts_dir=tmp_path / "out")).to_json()
    manual = {m["id"]: m for m in result["manual"]}
    assert result["status"] == "graded" and result["score"] == 10.0
    assert result["notebook"]["status"] == "malformed" and "not valid JSON" in result["notebook"]["message"]
    assert manual["notebook_runs"]["score"] == 0.0 and "not valid JSON" in manual["notebook_runs"]["comment"]
    assert result["artifacts"] == {} and not (tmp_path / "out").exists()


def test_a_missing_notebook_scores_zero_and_runs_nothing(tmp_path):
    assignment = make_assignment(tmp_path / "repo")
    result = grade_zip(make_zip(tmp_path / "submit.zip", None), assignment, RunOptions(seed=1)).to_json()
    assert result["notebook"]["status"] == "missing" and result["manual"][0]["score"] == 0.0
    skipped = grade_zip(make_zip(tmp_path / "s2.zip", template_nb()), assignment, RunOptions(seed=1, run_notebook=False)).to_json()
    assert skipped["notebook"] is None and skipped["manual"][0]["score"] is None


def test_a_sandbox_that_cannot_start_leaves_the_item_to_a_ta(tmp_path, monkeypatch):
    def broken_sandbox(*args):
        return TaskRun(b"", "crashed", 1, "", "bwrap: Creating new namespace failed: Operation not permitted", 0.1)

    monkeypatch.setattr(notebook_run, "run_task", broken_sandbox)
    assignment = make_assignment(tmp_path / "repo")
    result = grade_zip(make_zip(tmp_path / "submit.zip", template_nb()), assignment, RunOptions(seed=1)).to_json()
    section, item = result["notebook"], result["manual"][0]
    assert section["status"] == "error" and "Creating new namespace failed" in section["message"]
    assert item["score"] is None and "not judged" in item["comment"]


# ---------------------------------------------------------------- runs in the sandbox


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """One clean run through grade_zip, with a student kernelspec the grader must ignore."""
    tmp_path = tmp_path_factory.mktemp("clean")
    assignment = make_assignment(tmp_path / "repo")
    nb = template_nb()
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "R", "language": "R"}
    zip_path = make_zip(tmp_path / "submit.zip", nb)
    return grade_zip(zip_path, assignment, RunOptions(seed=1, student="s1", artifacts_dir=tmp_path / "out")).to_json()


@needs_bwrap
def test_clean_run_scores_the_auto_item_and_saves_artifacts(clean):
    section = clean["notebook"]
    assert clean["status"] == "graded" and clean["score"] == 10.0
    assert section["status"] == "passed" and section["ran_cleanly"] and section["first_failure"] is None
    assert section["cells_executed"] == section["code_cells"] == 4 and section["elapsed_s"] < 60
    manual = {m["id"]: m for m in clean["manual"]}
    assert manual["notebook_runs"]["score"] == 5.0 and manual["plot"]["score"] is None
    executed = nbformat.read(clean["artifacts"]["notebook"], as_version=4)
    nbformat.validate(executed)
    assert executed.metadata.kernelspec.name == "python3"
    assert "answer = 42" in texts(executed.cells[1])  # the student's helper.py, not the template's stub
    assert "X_train (300, 3, 32, 32)" in texts(executed.cells[2])  # INTRO2AI_MAX_TRAIN reached the kernel
    assert any("image/png" in o.get("data", {}) for o in executed.cells[4].outputs)
    assert Path(clean["artifacts"]["notebook_html"]).name == "s1-" + clean["sha256"][:8] + ".NB.html"


@needs_bwrap
@pytest.mark.chromium
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (apt-get install chromium)")
def test_html_artifact_shows_the_outputs_in_chromium(clean, tmp_path):
    page = Path(clean["artifacts"]["notebook_html"])
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--dump-dom", page.resolve().as_uri()]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "answer = 42" in dom and "X_train (300, 3, 32, 32)" in dom
    assert re.search(r"<h1[^>]*>Tiny notebook</h1>", dom)  # markdown rendered, not escaped
    assert 'id="nb-marker"' in dom and "bold marker" in dom  # the HTML output, sanitised ...
    assert "pwned" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)  # ... its script never ran
    assert "&lt;script&gt;document.title" in dom  # ... and is shown as text
    assert re.search(r'<img[^>]+src="data:image/png;base64,', dom)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Errors hidden behind tags, input(), a 100 MB print, then a cell that must still run."""
    extra = [
        ("code", "raise ValueError('tagged failure')"),
        ("code", "name = input('your name? ')"),
        ("code", "print('x' * (100 * 2**20))"),
        ("code", "print('still running after the errors')"),
    ]
    nb = with_cells(extra, tags={6: ["raises-exception", "skip-execution"]})
    return run_notebook(tmp_path_factory.mktemp("hostile"), nb)


@needs_bwrap
def test_student_tags_do_not_hide_a_failure(hostile):
    section, _, executed = hostile
    assert section["status"] == "failed" and not section["ran_cleanly"]
    failure = section["first_failure"]
    assert failure["index"] == 6 and failure["error"] == "ValueError" and failure["value"] == "tagged failure"
    assert failure["source"] == "raise ValueError('tagged failure')" and "cell 7" in section["message"]
    assert "tags" not in executed.cells[6].metadata and executed.cells[6].outputs[0].ename == "ValueError"


@needs_bwrap
def test_input_is_an_error_not_a_hang(hostile):
    _, _, executed = hostile
    assert [o.ename for o in executed.cells[7].outputs if o.output_type == "error"] == ["StdinNotImplementedError"]


@needs_bwrap
def test_a_100_mb_print_is_cut_with_a_note(hostile):
    section, artifacts, executed = hostile
    assert section["truncated_cells"] == [8]
    text = texts(executed.cells[8])
    assert text.startswith("x" * 1000) and len(text) < 70 * 1024 and "only the first 65,536 are kept" in text
    assert Path(artifacts["notebook"]).stat().st_size < 300 * 1024


@needs_bwrap
def test_every_cell_runs_after_an_error(hostile):
    section, _, executed = hostile
    assert section["cells_executed"] == section["code_cells"] == 8
    assert "still running after the errors" in texts(executed.cells[9])


@needs_bwrap
def test_a_cell_past_its_timeout_ends_the_run(tmp_path):
    nb = with_cells([("code", "import time\nprint('before the sleep', flush=True)\ntime.sleep(120)"),
                     ("code", "print('never')")])  # fmt: skip
    started = time.monotonic()
    section, _, executed = run_notebook(tmp_path, nb, cell_timeout_s=3, total_timeout_s=60)
    assert time.monotonic() - started < 30
    assert section["status"] == "timeout" and section["first_failure"]["error"] == "CellTimeoutError"
    assert section["first_failure"]["index"] == 6 and section["cells_executed"] == 5
    assert "before the sleep" in texts(executed.cells[6]) and executed.cells[7].outputs == []


@needs_bwrap
def test_a_kernel_ignoring_sigint_is_killed_at_the_total_budget(tmp_path):
    nb = with_cells([("code", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")])
    started = time.monotonic()
    section, artifacts, executed = run_notebook(tmp_path, nb, cell_timeout_s=120, total_timeout_s=10)
    assert time.monotonic() - started < 30
    assert section["status"] == "timeout" and section["first_failure"]["error"] == "TotalTimeout"
    assert section["first_failure"]["index"] == 6 and "total budget of 10 s" in section["message"]
    assert section["cells_executed"] == 4 and "answer = 42" in texts(executed.cells[1])
    assert Path(artifacts["notebook_html"]).is_file()


@needs_bwrap
def test_a_dying_kernel_ends_the_run_with_its_cell(tmp_path):
    nb = with_cells([("code", "import os\nos._exit(3)"), ("code", "print('never')")])
    section, _, executed = run_notebook(tmp_path, nb, cell_timeout_s=20, total_timeout_s=60)
    assert section["status"] == "crashed" and section["first_failure"]["error"] == "DeadKernelError"
    assert section["first_failure"]["index"] == 6 and section["cells_executed"] == 5
