"""Reports step: the export registry, one entry per grade-import format (Canvas, Moodle, Blackboard, Gradescope, CSV).

The CLI offers exactly the formats registered here; each entry says what it needs from the
command line and whether it can scale grades to the LMS column's maximum. Every writer returns
an `ExportReport` (rows, skipped, no grade, scale) and writes rows only for statuses the
gradebook scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from autograder.assignment import Visibility
from autograder.course.gradebook import CountedScore
from autograder.grading.intake import submission_stem
from autograder.reports import blackboard, canvas, moodle, plain_csv
from autograder.reports.gradescope import write_gradescope
from autograder.reports.tabular import ExportReport, Scale, has_grade


@dataclass(frozen=True)
class ExportRequest:
    """Everything an export may use; each format reads what it needs."""

    output: Path
    scores: Sequence[CountedScore]
    title: str
    visibility: Visibility
    scale: Scale = Scale(None)
    roster: Path | None = None
    column_id: str | None = None
    identifier: str = "idnumber"
    delimiter: str = "tab"


@dataclass(frozen=True)
class Exporter:
    write: Callable[[ExportRequest], ExportReport]
    needs: tuple[str, ...] = ()  # ExportRequest fields that must be given (e.g. canvas: roster, column_id)
    scaled: bool = False  # takes --scale-to


def _moodle(request: ExportRequest) -> ExportReport:
    if request.identifier == "participant":
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")  # PHP's strtotime reads it
        return moodle.write_moodle_worksheet(request.output, request.scores, now, request.scale)
    return moodle.write_moodle(request.output, request.scores, request.title, request.identifier, request.roster,
                               request.scale)  # fmt: skip


def _gradescope(request: ExportRequest) -> ExportReport:
    """One Gradescope results file per student, scored as counted (late policy, manual grades)."""
    report = ExportReport(request.output, no_grade_rule="no file is written for them")
    for score in request.scores:
        if score.result is None or not has_grade(score):
            report.no_grade.append(f"{score.student} ({score.status})")
            continue
        name = submission_stem(score.result.student, score.result.sha256) + ".json"
        write_gradescope(request.output / name, replace(score.result, score=score.score), request.visibility)
        report.rows += 1
    return report


EXPORTERS: dict[str, Exporter] = {
    "canvas": Exporter(lambda r: canvas.write_canvas(r.output, r.scores, r.roster, r.title, r.column_id, scale=r.scale),
                       needs=("roster", "column_id"), scaled=True),
    "moodle": Exporter(_moodle, scaled=True),
    "blackboard": Exporter(lambda r: blackboard.write_blackboard(r.output, r.scores, r.title, r.column_id, r.delimiter,
                                                                 r.roster, scale=r.scale), scaled=True),
    "gradescope": Exporter(_gradescope),
    "csv": Exporter(lambda r: plain_csv.write_plain_csv(r.output, r.scores)),
}  # fmt: skip


def export(fmt: str, request: ExportRequest) -> ExportReport:
    """Writes `request` in the registered format `fmt`."""
    return EXPORTERS[fmt].write(request)
