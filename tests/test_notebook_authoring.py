"""Notebook pipeline on small notebooks built here, and the reference HW5 and HW8 notebooks' provenance."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.authoring.markers import END_BANNER, START_BANNER, AuthoringError
from autograder.authoring.notebooks import ANSWER_PLACEHOLDER, student_notebook

REPO = Path(__file__).resolve().parent.parent
SEED = Path("/work/shared/seeds/001_d3f7b29d9e632b31.txt")
BUILDER = REPO / "reference" / "tools" / "build_hw5_notebook.py"
HW8_SEED = Path("/work/shared/seeds/002_2f0451a9692e03e3.txt")
HW8_BUILDER = REPO / "reference" / "tools" / "build_hw8_cutmix_mixup_notebook.py"


def _notebook(*cells: nbformat.NotebookNode) -> str:
    nb = new_notebook(cells=list(cells))
    nb.metadata = {
        "kernelspec": {
            "name": "conda-env-cs231n-py",
            "display_name": "cs231n",
            "language": "python",
        },
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
        "language_info": {"name": "python", "version": "3.7.3"},
    }
    return nbformat.writes(nb)


def _code(source: str, **metadata: object) -> nbformat.NotebookNode:
    cell = new_code_cell(source, metadata=metadata, execution_count=7)
    cell.outputs = [new_output("stream", name="stdout", text="secret 0.123\n")]
    return cell


def _student(*cells: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, str]:
    text, _ = student_notebook(_notebook(*cells), "HW.ipynb")
    return nbformat.reads(text, as_version=4), text


def test_outputs_counts_and_metadata_are_cleaned() -> None:
    nb, _ = _student(new_markdown_cell("# Title"), _code("print(1)", scrolled=True, tags=["setup"]))
    code = nb.cells[1]
    assert code.outputs == [] and code.execution_count is None
    assert dict(code.metadata) == {"tags": ["setup"]}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb.metadata and "version" not in nb.metadata["language_info"]
    assert nb.cells[0].source == "# Title"
    nbformat.validate(nb)


def test_code_cell_regions_are_stripped() -> None:
    source = (
        f"import numpy as np\n{START_BANNER}\nw = np.linalg.solve(a, b)\n{END_BANNER}\nprint(w)"
    )
    nb, _ = _student(_code(source))
    lines = nb.cells[0].source.split("\n")
    assert lines[1] == START_BANNER and lines[3] == END_BANNER
    assert lines[2].startswith('raise NotImplementedError("cell 1: not implemented yet')
    assert "linalg" not in nb.cells[0].source


@pytest.mark.parametrize(
    "metadata", [{"solution": True}, {"nbgrader": {"solution": True, "grade_id": "q1"}}]
)
def test_solution_cells_by_metadata_become_stub_cells(metadata: dict) -> None:
    nb, text = _student(new_markdown_cell("Q1"), _code("def f():\n    return 42", **metadata))
    stub = nb.cells[1].source
    assert "return 42" not in text
    assert stub.startswith("# YOUR CODE HERE\nraise NotImplementedError(")
    assert "cell 2: not implemented yet" in stub
    assert dict(nb.cells[1].metadata) == {}


def test_solution_cell_by_first_line_becomes_stub_cell() -> None:
    nb, text = _student(_code("# SOLUTION CELL\nanswer = 6 * 7"))
    assert "6 * 7" not in text and "not implemented yet" in nb.cells[0].source


def test_solution_metadata_with_markers_strips_only_the_region() -> None:
    source = "x = 1\n### BEGIN SOLUTION\ny = x + 41\n### END SOLUTION\nprint(y)"
    nb, _ = _student(_code(source, nbgrader={"solution": True}))
    kept = nb.cells[0].source
    assert kept.startswith("x = 1\nraise NotImplementedError(") and kept.endswith("print(y)")
    assert "x + 41" not in kept and "SOLUTION" not in kept


def test_answer_cells_keep_a_placeholder() -> None:
    nb, text = _student(
        new_markdown_cell("**Your Answer:** max pooling is not differentiable at ties"),
        new_markdown_cell("Because the kernel is flipped.", metadata={"answer": True}),
        new_markdown_cell("**Inline Question 1:** why?"),
    )
    assert nb.cells[0].source == f"**Your Answer:** {ANSWER_PLACEHOLDER}"
    assert nb.cells[1].source == ANSWER_PLACEHOLDER
    assert dict(nb.cells[1].metadata) == {"answer": True}
    assert nb.cells[2].source == "**Inline Question 1:** why?"
    assert "ties" not in text and "flipped" not in text


def test_markers_in_markdown_are_refused() -> None:
    with pytest.raises(AuthoringError) as caught:
        _student(
            new_markdown_cell("intro"), new_markdown_cell("### BEGIN SOLUTION\nx\n### END SOLUTION")
        )
    assert caught.value.path == "HW.ipynb cell 2" and caught.value.line == 1


def test_bad_marker_in_a_cell_names_the_cell_and_line() -> None:
    with pytest.raises(AuthoringError) as caught:
        _student(_code("x = 1"), _code(f"y = 2\n{START_BANNER}\nz = 3"))
    assert (caught.value.path, caught.value.line) == ("HW.ipynb cell 2", 2)


def test_output_is_deterministic_with_stable_ids() -> None:
    cells = (new_markdown_cell("a"), _code("print(2)"))
    first, _ = student_notebook(_notebook(*cells), "HW.ipynb")
    again, _ = student_notebook(first, "HW.ipynb")
    assert first == again
    document = json.loads(first)
    assert [cell["id"] for cell in document["cells"]] == ["cell-001", "cell-002"]
    assert first.endswith("}\n") and document["nbformat_minor"] >= 5


def _builder(path: Path = BUILDER):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not SEED.is_file(), reason="the HW5 seed text is not on this machine")
def test_reference_notebook_is_the_seed_rebuilt() -> None:
    """The committed notebook is exactly what the builder makes from the seed: every cell in
    order, Korean text verbatim, and only the commented adjustments in code."""
    builder = _builder()
    seed = SEED.read_text(encoding="utf-8")
    assert builder.build(seed) == (REPO / "reference" / "HW5.ipynb").read_text(encoding="utf-8")
    position = 0
    for kind, source in builder.parse_seed(seed):
        found = seed.find(source, position)
        assert found >= position, f"{kind} cell out of order or not verbatim: {source[:60]!r}"
        position = found + len(source)


@pytest.mark.skipif(not HW8_SEED.is_file(), reason="the HW8 seed text is not on this machine")
def test_hw8_reference_notebook_is_what_its_builder_makes() -> None:
    """HW8's notebook is rewritten for numpy (seed 002 is TensorFlow): the committed file is the
    builder's output, and the builder refuses a seed that lost a sentence it quotes."""
    builder, shared = _builder(HW8_BUILDER), _builder(HW8_BUILDER.parent / "notebook_builder.py")
    seed = HW8_SEED.read_text(encoding="utf-8")
    built = shared.build(builder.CELLS, seed, builder.SEED_TEXT, "HW8.ipynb")
    assert built == (REPO / "reference" / "hw8_cutmix_mixup" / "HW8.ipynb").read_text(encoding="utf-8")
    with pytest.raises(SystemExit, match="seed no longer contains"):
        shared.build(builder.CELLS, seed.replace(builder.SEED_TEXT[0], ""), builder.SEED_TEXT, "HW8.ipynb")


@pytest.mark.skipif(not SEED.is_file(), reason="the HW5 seed text is not on this machine")
def test_reference_notebook_changes_only_commented_lines() -> None:
    seed_lines = set(SEED.read_text(encoding="utf-8").split("\n"))
    nb = nbformat.read(REPO / "reference" / "HW5.ipynb", as_version=4)
    changed = [
        line
        for cell in nb.cells
        for line in cell.source.split("\n")
        if line not in seed_lines and "adjusted" not in line.lower()
    ]
    # the only new lines: the comment's second line, the import and the call replacing imread
    assert changed == [
        "# kitten.jpg/puppy.jpg (nothing is downloaded).",
        "from intro2ai.data_utils import sample_photos",
        "kitten, puppy = sample_photos()",
    ]
