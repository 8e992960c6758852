"""Reports step: terminal report: one result document as a table a TA reads at a glance."""

from __future__ import annotations

from typing import Any

import click

from autograder.assignment import Shown

STATUS_COLOURS = {"passed": "green", "partial": "yellow", "ungradable": "magenta"}


def render_result(result: dict[str, Any], colour: bool | None = None, shown: Shown | None = None) -> str:
    """The table staff read; with `shown`, only what a student may see now (the seed that
    regenerates hidden inputs is withheld unless `shown` allows it)."""
    seed = result["seed"] if shown is None or shown.hidden_inputs else "withheld"
    lines = [f"{result['assignment']} · {result['submission']} · sha256 {result['sha256'][:12]}"]
    if result["status"] == "ungradable":
        lines.append(click.style(f"UNGRADABLE: {result['message']}", fg="magenta", bold=True))
        return "\n".join(lines)
    if result["status"] == "error":
        lines.append(click.style(f"NOT GRADED (internal fault, not the student's): {result['message']}", fg="red",
                                 bold=True))  # fmt: skip
        return "\n".join(lines)
    rows = [("question", "points", "status", "worst case", "message")]
    for q in result["questions"]:
        rows.append((f"{q['id']} {q['title']}", f"{_num(q['score'])}/{_num(q['max_score'])}", q["status"],
                     _worst(q["cases"]), _short(q["message"])))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for n, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(4)] + [row[4]]
        if n and colour is not False:
            cells[2] = click.style(cells[2], fg=STATUS_COLOURS.get(row[2].strip(), "red"))
        lines.append("  ".join(cells).rstrip())
    lines += _diagnoses(result["questions"])
    lines.append(f"total {_num(result['score'])}/{_num(result['max_score'])}   seed {seed}   "
                 f"data {result['data']}   sandbox {result['sandbox']['kind']}   {result['duration_s']:.1f} s")  # fmt: skip
    if result["sandbox"].get("warning"):
        lines.append(click.style("WARNING: " + result["sandbox"]["warning"], fg="red", bold=True))
    if shown is not None and shown.note:
        lines.append(shown.note)
    notebook = result.get("notebook")
    if notebook:
        lines.append(f"notebook: {_notebook_line(notebook)}")
    manual = [m for m in result.get("manual", []) if m["max_score"]]
    if manual:
        lines.append("separate items: " + ", ".join(
            f"{m['title']} {'(TA)' if m['score'] is None else _num(m['score'])}/{_num(m['max_score'])}" for m in manual))  # fmt: skip
    return "\n".join(lines)


def _diagnoses(questions: list[dict[str, Any]]) -> list[str]:
    """Failing cases whose judge explained why (a training run whose loss broke), one full line each."""
    return [f"  {q['id']} {c['name']}: {c['extras']['diagnosis']}" for q in questions for c in q["cases"]
            if not c["passed"] and isinstance((c.get("extras") or {}).get("diagnosis"), str)]  # fmt: skip


def _notebook_line(notebook: dict[str, Any]) -> str:
    if notebook.get("ran_cleanly"):
        return f"ran cleanly ({notebook.get('cells_executed', '?')} cells, {notebook.get('elapsed_s', 0):.0f} s)"
    return _short(f"{notebook.get('status', 'failed')}: {notebook.get('message', '')}", 120)


def _worst(cases: list[dict[str, Any]]) -> str:
    """The failing case whose measurement is furthest past its threshold, as `value vs threshold`."""
    measured = [c for c in cases if c.get("value") is not None and c.get("threshold") is not None]
    if not measured:
        return "-"
    failing = [c for c in measured if not c["passed"]] or measured
    worst = max(failing, key=lambda c: _badness(c))
    op = "≥" if worst["metric"] and "accuracy" in worst["metric"] else "≤"
    return f"{worst['value']:.2e} (need {op} {worst['threshold']:.2g})" if op == "≤" else \
        f"{worst['value']:.3f} (need {op} {worst['threshold']:.2f})"  # fmt: skip


def _badness(case: dict[str, Any]) -> float:
    value, threshold = case["value"], case["threshold"]
    if case["metric"] and "accuracy" in case["metric"]:
        return threshold - value
    return value / threshold if threshold else value


def _num(value: float) -> str:
    return f"{value:g}"


def _short(message: str, limit: int = 90) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
