"""Reports step: terminal report: one typed result as a table a TA reads at a glance."""

from __future__ import annotations

import click

from autograder.assignment import Shown
from autograder.grading.result import CaseOutcome, NotebookSection, QuestionResult, Result

STATUS_COLOURS = {"passed": "green", "partial": "yellow", "ungradable": "magenta"}


def render_result(result: Result, colour: bool | None = None, shown: Shown | None = None) -> str:
    """The table staff read; with `shown`, only what a student may see now (the seed that
    regenerates hidden inputs is withheld unless `shown` allows it)."""
    seed = result.seed if shown is None or shown.hidden_inputs else "withheld"
    lines = [f"{result.assignment} · {result.submission} · sha256 {result.sha256[:12]}"]
    if result.status == "ungradable":
        lines.append(click.style(f"UNGRADABLE: {result.message}", fg="magenta", bold=True))
        return "\n".join(lines)
    if result.status == "error":
        lines.append(click.style(f"NOT GRADED (internal fault, not the student's): {result.message}", fg="red",
                                 bold=True))  # fmt: skip
        return "\n".join(lines)
    rows = [("question", "points", "status", "worst case", "message")]
    for q in result.questions:
        rows.append((f"{q.id} {q.title}", f"{_num(q.score)}/{_num(q.max_score)}", q.status, _worst(q.cases),
                     _short(q.message)))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for n, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(4)] + [row[4]]
        if n and colour is not False:
            cells[2] = click.style(cells[2], fg=STATUS_COLOURS.get(row[2].strip(), "red"))
        lines.append("  ".join(cells).rstrip())
    lines += _diagnoses(result.questions)
    lines.append(f"total {_num(result.score)}/{_num(result.max_score)}   seed {seed}   "
                 f"data {result.data}   sandbox {result.sandbox.kind}   {result.duration_s:.1f} s")  # fmt: skip
    if result.sandbox.warning:
        lines.append(click.style("WARNING: " + result.sandbox.warning, fg="red", bold=True))
    if shown is not None and shown.note:
        lines.append(shown.note)
    if result.notebook:
        lines.append(f"notebook: {_notebook_line(result.notebook)}")
    manual = [m for m in result.manual if m.max_score]
    if manual:
        lines.append("separate items: " + ", ".join(
            f"{m.title} {'(TA)' if m.score is None else _num(m.score)}/{_num(m.max_score)}" for m in manual))  # fmt: skip
    return "\n".join(lines)


def _diagnoses(questions: list[QuestionResult]) -> list[str]:
    """Failing cases whose judge explained why (a training run whose loss broke), one full line each."""
    return [f"  {q.id} {c.name}: {c.extras['diagnosis']}" for q in questions for c in q.cases
            if not c.passed and isinstance(c.extras.get("diagnosis"), str)]  # fmt: skip


def _notebook_line(notebook: NotebookSection) -> str:
    if notebook.ran_cleanly:
        return f"ran cleanly ({notebook.cells_executed} cells, {notebook.elapsed_s:.0f} s)"
    return _short(f"{notebook.status}: {notebook.message}", 120)


def _worst(cases: list[CaseOutcome]) -> str:
    """The failing case whose measurement is furthest past its threshold, as `value vs threshold`."""
    measured = [c for c in cases if c.value is not None and c.threshold is not None]
    if not measured:
        return "-"
    failing = [c for c in measured if not c.passed] or measured
    worst = max(failing, key=_badness)
    if worst.metric and "accuracy" in worst.metric:
        return f"{worst.value:.3f} (need ≥ {worst.threshold:.2f})"
    return f"{worst.value:.2e} (need ≤ {worst.threshold:.2g})"


def _badness(case: CaseOutcome) -> float:
    value, threshold = case.value, case.threshold
    if case.metric and "accuracy" in case.metric:
        return threshold - value
    return value / threshold if threshold else value


def _num(value: float) -> str:
    return f"{value:g}"


def _short(message: str, limit: int = 90) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
