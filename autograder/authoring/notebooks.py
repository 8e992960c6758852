"""Notebook preprocessors: the pipeline that turns the reference notebook into the student notebook.

As in nbgrader, each transformation is a small class applied in order to the whole notebook.
The result is deterministic (stable cell ids, sorted keys), so regenerating changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

from autograder.authoring.markers import AuthoringError, Region, scan, strip_cell, stub_statement

ANSWER_PREFIX = "**Your Answer:**"
ANSWER_PLACEHOLDER = "*Write your answer here.*"
SOLUTION_CELL_LINE = "# SOLUTION CELL"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
KEPT_CELL_METADATA = ("answer", "tags")


@dataclass
class NotebookReport:
    """What the pipeline did to one notebook."""

    label: str
    regions: list[tuple[int, Region]] = field(default_factory=list)  # (cell number, region)
    stub_cells: list[int] = field(default_factory=list)  # 1-based cell numbers
    answer_cells: list[int] = field(default_factory=list)


def _name(index: int) -> str:
    return f"cell {index + 1}"


def _is_solution(cell: NotebookNode) -> bool:
    nbgrader = cell.metadata.get("nbgrader", {})
    return cell.metadata.get("solution") is True or nbgrader.get("solution") is True


def _is_answer(cell: NotebookNode) -> bool:
    return cell.metadata.get("answer") is True or (
        cell.cell_type == "markdown" and cell.source.lstrip().startswith(ANSWER_PREFIX)
    )


class Preprocessor:
    """One step of the pipeline; by default it visits every cell."""

    def __call__(self, nb: NotebookNode, report: NotebookReport) -> None:
        for index, cell in enumerate(nb.cells):
            self.cell(cell, index, report)

    def cell(self, cell: NotebookNode, index: int, report: NotebookReport) -> None:
        raise NotImplementedError


class ReplaceSolutionCells(Preprocessor):
    """Whole-cell solutions become a stub: `# SOLUTION CELL` first line, or solution metadata
    without markers inside (with markers, only the regions go, as in nbgrader)."""

    def cell(self, cell: NotebookNode, index: int, report: NotebookReport) -> None:
        first_line = cell.source.lstrip().split("\n", 1)[0].strip()
        marked_first_line = cell.cell_type == "code" and first_line == SOLUTION_CELL_LINE
        label = f"{report.label} {_name(index)}"
        if not (marked_first_line or (_is_solution(cell) and not scan(cell.source, label))):
            return
        if cell.cell_type == "code":
            cell.source = "# YOUR CODE HERE\n" + stub_statement(_name(index), report.label, "cell")
        else:
            cell.source = ANSWER_PLACEHOLDER
        report.stub_cells.append(index + 1)


class StripSolutionRegions(Preprocessor):
    """Marked regions in code cells become stubs; markers in markdown are refused (they would ship)."""

    def cell(self, cell: NotebookNode, index: int, report: NotebookReport) -> None:
        label = f"{report.label} {_name(index)}"
        if cell.cell_type != "code":
            regions = scan(cell.source, label)
            if regions:
                raise AuthoringError(label, regions[0].start, "solution markers in a non-code cell")
            return
        try:
            stripped = strip_cell(cell.source, report.label, _name(index))
        except AuthoringError as error:
            raise AuthoringError(label, error.line, error.message) from None
        cell.source = stripped.text
        report.regions.extend((index + 1, region) for region in stripped.regions)


class KeepAnswerCells(Preprocessor):
    """Written-answer cells stay, with a placeholder instead of the reference answer."""

    def cell(self, cell: NotebookNode, index: int, report: NotebookReport) -> None:
        if not _is_answer(cell):
            return
        if cell.cell_type != "markdown":
            raise AuthoringError(
                f"{report.label} {_name(index)}", None, "answer cells must be markdown"
            )
        prefix = ANSWER_PREFIX + " " if cell.source.lstrip().startswith(ANSWER_PREFIX) else ""
        cell.source = prefix + ANSWER_PLACEHOLDER
        report.answer_cells.append(index + 1)


class ClearOutputs(Preprocessor):
    """No outputs or execution counts: students run the notebook themselves."""

    def cell(self, cell: NotebookNode, index: int, report: NotebookReport) -> None:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


class CleanMetadata(Preprocessor):
    """Only a standard kernelspec at notebook level, only answer flags and tags on cells."""

    def __call__(self, nb: NotebookNode, report: NotebookReport) -> None:
        nb.metadata = nbformat.from_dict(
            {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
        )
        super().__call__(nb, report)

    def cell(self, cell: NotebookNode, index: int, report: NotebookReport) -> None:
        kept = {key: cell.metadata[key] for key in KEPT_CELL_METADATA if cell.metadata.get(key)}
        cell.metadata = nbformat.from_dict(kept)


class StableCellIds(Preprocessor):
    """Cell ids from the cell index, so the same notebook always gives the same bytes."""

    def __call__(self, nb: NotebookNode, report: NotebookReport) -> None:
        nb.nbformat, nb.nbformat_minor = 4, max(nb.nbformat_minor, 5)
        super().__call__(nb, report)

    def cell(self, cell: NotebookNode, index: int, report: NotebookReport) -> None:
        cell.id = stable_cell_id(index)


PIPELINE: tuple[Preprocessor, ...] = (
    ReplaceSolutionCells(),
    StripSolutionRegions(),
    KeepAnswerCells(),
    ClearOutputs(),
    CleanMetadata(),
    StableCellIds(),
)


def stable_cell_id(index: int) -> str:
    """The id of the cell at `index` (0-based) in every notebook we write."""
    return f"cell-{index + 1:03d}"


def read_notebook(text: str, label: str) -> NotebookNode:
    """Parse notebook JSON as nbformat 4; a broken notebook is the author's to fix."""
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types for bad input
        raise AuthoringError(label, None, f"not a readable notebook: {error}") from None


def write_notebook(nb: NotebookNode, label: str) -> str:
    """Validated, deterministic nbformat 4 JSON (sorted keys, one trailing newline)."""
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        raise AuthoringError(label, None, f"invalid notebook: {error.message}") from None
    return nbformat.writes(nb, version=4) + "\n"


def student_notebook(text: str, label: str) -> tuple[str, NotebookReport]:
    """Run the pipeline on the reference notebook `text`; return the student JSON and a report."""
    nb = read_notebook(text, label)
    report = NotebookReport(label)
    for step in PIPELINE:
        step(nb, report)
    return write_notebook(nb, label), report
