"""Test factory: realistic HW5 result documents (schema 1) for gradebook, export and page tests."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

# (id, title, points, public case names, hidden count) as declared in assignments/hw5_cnn.
HW5_QUESTIONS = (
    ("Q1", "conv_forward_naive", 15.0, ("seed cell 3",), 5),
    ("Q2", "conv_backward_naive", 20.0, ("seed cell 5",), 5),
    ("Q3", "max_pool_forward_naive", 10.0, ("seed cell 6",), 5),
    ("Q4", "max_pool_backward_naive", 15.0, ("seed cell 7",), 5),
    ("Q5", "ThreeLayerConvNet", 40.0, ("overfit 100 examples (seed cells 13-14)",
                                       "1-epoch training accuracy (seed cell 17)"), 2),
)
MANUAL_ITEMS = (("written_answers", "Written answers", 5.0), ("notebook_runs", "The notebook runs", 0.0))
HOSTILE = "<script>document.body.setAttribute('data-pwned','1')</script>\"'&<b>x</b>"
ERROR_MESSAGES = {
    "error": "IndexError: index 4 is out of bounds for axis 2 with size 4",
    "timeout": "time limit of 20 s exceeded: look for an infinite loop",
    "memory": "memory limit of 2048 MB exceeded",
    "not_implemented": "NotImplementedError: conv_forward_naive is not implemented yet",
}
STARTED = datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc)


def sha_of(text: str) -> str:
    """A stable fake zip hash, so one (student, version) pair maps to one content hash."""
    return hashlib.sha256(text.encode()).hexdigest()


def _case(qid: str, name: str, hidden: bool, passed: bool, points: float, curves: bool) -> dict:
    training = qid == "Q5"
    extras: dict = {}
    if training and curves and not hidden:
        extras = {"loss_history": [2.3 - 0.02 * i + 0.05 * ((i * 7) % 3) for i in range(60)],
                  "train_acc_history": [0.1 + 0.06 * i for i in range(10)],
                  "held_out_accuracy": 0.412}
    metric, value, threshold = (("train_accuracy", 0.62 if passed else 0.21, 0.5) if training
                                else ("rel_error", 3e-9 if passed else 0.41, 1e-7))
    return {"name": name, "hidden": hidden, "passed": passed, "status": "passed" if passed else "failed",
            "metric": metric, "value": value,
            "threshold": threshold, "points": points if passed else 0.0, "max_points": points,
            "params": {"x_shape": [2, 3, 7, 7], "stride": 2, "pad": 1, "seed": 90210} if hidden
            else {"x_shape": [2, 3, 4, 4], "stride": 2, "pad": 1},
            "message": "" if passed else f"{metric} {value:.3g} above threshold {threshold:.3g}",
            "extras": extras}


def _question(spec: tuple, n_passed: int | None, error: str | None, curves: bool) -> dict:
    qid, title, points, public, n_hidden = spec
    names = [(n, False) for n in public] + [(f"hidden {i + 1}", True) for i in range(n_hidden)]
    if error:
        return {"id": qid, "title": title, "score": 0.0, "max_score": points, "status": error,
                "message": ERROR_MESSAGES[error], "duration_s": 20.0, "stdout": "", "cases": []}
    n_passed = len(names) if n_passed is None else n_passed
    each = points / len(names)
    cases = [_case(qid, name, hidden, i < n_passed, each, curves)
             for i, (name, hidden) in enumerate(names)]
    status = ("passed" if n_passed == len(names) else "failed" if n_passed == 0 else "partial")
    return {"id": qid, "title": title, "score": round(sum(c["points"] for c in cases), 6),
            "max_score": points, "status": status,
            "message": "" if status == "passed" else f"{len(names) - n_passed} of {len(names)} cases failed",
            "duration_s": 0.4, "stdout": "iteration 1 / 10: loss 2.30\n", "cases": cases}


def make_result(student: str | None = "s001", *, passed: dict[str, int] | None = None,
                errors: dict[str, str] | None = None, ungradable: str | None = None,
                hostile: bool = False, seed: int = 1234, version: str = "2026.1",
                sha256: str | None = None, duration_s: float = 3.2, curves: bool = True,
                notebook_html: str | None = None, started_at: datetime = STARTED) -> dict:
    """One HW5 result document; `passed` maps a question id to its number of passing cases
    (default: all), `errors` maps a question id to a failure status, `ungradable` is its message."""
    passed, errors = passed or {}, errors or {}
    questions = [] if ungradable else [
        _question(spec, passed.get(spec[0]), errors.get(spec[0]), curves) for spec in HW5_QUESTIONS]
    if hostile and questions:
        questions[0]["message"] = HOSTILE
        questions[0]["stdout"] = HOSTILE
        questions[0]["cases"][0]["message"] = HOSTILE
        questions[0]["cases"][0]["name"] = HOSTILE
    score = round(sum(q["score"] for q in questions), 6)
    return {
        "schema": 1, "assignment": "hw5_cnn", "assignment_version": version,
        "submission": f"{HOSTILE if hostile else student}_submit.zip",
        "sha256": sha256 or sha_of(f"{student}/{version}/{sorted(passed.items())}/{sorted(errors.items())}"),
        "student": student,
        "status": "ungradable" if ungradable else "graded",
        "message": ungradable or (HOSTILE if hostile else ""),
        "score": score, "max_score": sum(spec[2] for spec in HW5_QUESTIONS),
        "seed": seed, "data": "embedded",
        "sandbox": {"kind": "bwrap", "warning": None, "limits": {"timeout_s": 20, "memory_mb": 2048}},
        "started_at": started_at.isoformat(), "duration_s": duration_s,
        "files": {"found": {"layers.py": "sub/intro2ai/layers.py", "cnn.py": "sub/cnn.py"},
                  "missing": [], "ignored": [HOSTILE] if hostile else ["__MACOSX/._layers.py"]},
        "questions": questions,
        "manual": [{"id": i, "title": t, "max_score": m, "score": None, "comment": None}
                   for i, t, m in MANUAL_ITEMS],
        "artifacts": {"notebook_html": notebook_html} if notebook_html else {},
    }


def at(days: float, hours: float = 0.0) -> datetime:
    """A timestamp `days` (+ `hours`) after the factory's reference time, in UTC."""
    return STARTED + timedelta(days=days, hours=hours)
