"""HW8's notebook graded in the sandbox, as a submission's notebook is: the reference's runs cleanly
and earns the automatic item; the template's runs top to bottom too, and every cell that fails fails
because of a stub (its NotImplementedError, or a name a failed stub cell left undefined).

Fast: one tiny question (Q2) and the notebook on 200 embedded training images (the toml's
`INTRO2AI_MAX_TRAIN` in its `[notebook] env` lowered here; the three training runs then take seconds instead of a minute).
"""

from __future__ import annotations

import dataclasses

import nbformat
import pytest

from autograder.assignment import load_assignment
from autograder.grading.run import RunOptions, grade_zip
from autograder.sandbox.command import bwrap_path
from autograder.student.pack import pack

pytestmark = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap cannot create namespaces here")

SMALL_TRAIN = 200
STUB_CELLS = {  # template cell index -> the stub its NotImplementedError names
    6: "get_clip_box",
    12: "cutmix",
    14: "mixup_2_images",
    15: "mixup",
    19: "softmax_loss",  # train_run's first (no augmentation) run calls the loss
}
GIVEN_CELLS = (1, 2, 4)  # imports, data, the two images: no student code


@pytest.fixture(scope="module")
def hw8():
    full = load_assignment("hw8_cutmix_mixup")
    return dataclasses.replace(full, notebook={**full.notebook, "env": {**full.notebook["env"], "INTRO2AI_MAX_TRAIN": str(SMALL_TRAIN)}})


def graded(tmp_path, hw8, root, label):
    zip_path = pack(hw8, root, tmp_path / f"{label}.zip", unrun_notebook=True).path
    options = RunOptions(seed=1, only=("Q2",), skip_groups=("train",), student=label, artifacts_dir=tmp_path / "out",
                           max_blas_threads=1)  # fmt: skip
    result = grade_zip(zip_path, hw8, options).to_json()
    executed = nbformat.read(result["artifacts"]["notebook"], as_version=4)
    return result, executed


def errors(executed: nbformat.NotebookNode) -> dict[int, tuple[str, str]]:
    """Cell index -> (exception name, message) of every code cell that raised."""
    return {index: (output.ename, output.evalue) for index, cell in enumerate(executed.cells) if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == "error"}  # fmt: skip


def test_reference_notebook_runs_cleanly_in_the_sandbox(tmp_path, hw8):
    result, executed = graded(tmp_path, hw8, hw8.reference_dir, "reference")
    section = result["notebook"]
    assert section["status"] == "passed" and section["ran_cleanly"], section["message"]
    assert section["env"]["INTRO2AI_MAX_TRAIN"] == str(SMALL_TRAIN) and section["cells_executed"] == section["code_cells"] > 10
    assert errors(executed) == {}
    manual = {m["id"]: m["score"] for m in result["manual"]}
    assert manual == {"notebook_runs": 5.0, "comparison_discussion": None}  # the discussion is a TA's to mark
    printed = "".join(o.get("text", "") for o in executed.cells[19].outputs)
    assert all(f"{method:7s} final loss" in printed for method in ("none", "cutmix", "mixup")), printed
    assert any("image/png" in o.get("data", {}) for o in executed.cells[20].outputs)  # the curves are plotted


def test_template_notebook_runs_and_fails_only_in_the_stubs(tmp_path, hw8):
    result, executed = graded(tmp_path, hw8, hw8.template_dir, "template")
    section = result["notebook"]
    assert section["status"] == "failed" and not section["ran_cleanly"]
    assert section["cells_executed"] == section["code_cells"]  # every cell still ran after the first error
    failed = errors(executed)
    assert section["first_failure"]["index"] == min(failed) == 6
    for index, function in STUB_CELLS.items():
        name, message = failed.get(index, ("no error", ""))
        assert name == "NotImplementedError" and f"{function}: not implemented" in message, (index, name, message)
    others = {index: error for index, error in failed.items() if index not in STUB_CELLS}
    assert all(name == "NameError" for name, _ in others.values()), others  # a failed stub cell's variables
    assert not set(failed) & set(GIVEN_CELLS)
    assert {m["id"]: m["score"] for m in result["manual"]}["notebook_runs"] == 0.0
