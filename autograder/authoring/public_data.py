"""Authoring step: the starter code's `public_expected.npz`, what `grade check` judges public cases against.

For every public case, the probe inputs and the reference's outputs (both already printed in the
public notebook), keyed to the case's declaration (`fingerprint`), written deterministically; and
the comparison `grade generate --check` uses to tell a stale file from BLAS noise.
"""

from __future__ import annotations

import hashlib
import io
import json
import types
import zipfile
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from autograder.archive import Entry, zip_bytes
from autograder.assignment import Assignment, Case, Question
from autograder.authoring.markers import AuthoringError
from autograder.grading.run import GradingContext, judge_for, prepare_case
from autograder.student.selfcheck import (
    AFTER_SUBMISSION,
    MANIFEST,
    PROBE_SEED,
    PUBLIC_EXPECTED,
    SCHEMA,
    PublicData,
    ReferenceUnavailable,
    blocked_checks,
    fingerprint,
    parse_public_data,
)


def public_expected_files(spec: Any, rendered: dict[str, bytes]) -> dict[str, bytes]:
    """The template's `public_expected.npz`, for a declared assignment (a bare release spec gets none)."""
    if not isinstance(spec, Assignment) or not spec.questions:
        return {}
    return {PUBLIC_EXPECTED: build_public_expected(spec, rendered)}


def build_public_expected(assignment: Assignment, rendered: dict[str, bytes]) -> bytes:
    """Inputs and reference outputs of every public case the student's machine can judge."""
    checks, blocked = assignment.checks(), blocked_checks(assignment, {})
    context = GradingContext(assignment, PROBE_SEED, None)
    arrays: dict[str, np.ndarray] = {}
    cases = []
    for qindex, question in enumerate(assignment.questions):
        for case in question.cases:
            entry: dict[str, Any] = {"question": question.id, "case": case.name, "fingerprint": fingerprint(case),
                                     "mode": AFTER_SUBMISSION}  # fmt: skip
            # One probe seed per question: cases with the same recipe share (and store) one input.
            if _judge_runs_here(blocked, case, context, None, question):
                inputs, expected = _seeded(partial(prepare_case, case, qindex, 0, context, checks))
                if _judge_runs_here(blocked, case, context, expected, question):
                    entry.update(mode="local", inputs=_store(inputs, arrays), expected=_store(expected, arrays))
            cases.append(entry)
    manifest = {"schema": SCHEMA, "assignment": assignment.id, "version": assignment.version, "seed": PROBE_SEED,
                "given": _given_hashes(assignment, rendered), "cases": cases}  # fmt: skip
    return _write_archive(manifest, arrays)


def _seeded(action: Callable[[], Any]) -> Any:
    """Runs `action` on numpy's global stream seeded afresh (reference inits draw from it), so
    the file has the same bytes on every generation; the caller's stream is left as it was."""
    state = np.random.get_state()
    np.random.seed(PROBE_SEED)
    try:
        return action()
    finally:
        np.random.set_state(state)


def _judge_runs_here(blocked: types.ModuleType, case: Case, context: GradingContext, expected: dict | None,
                     question: Question) -> bool:  # fmt: skip
    """Whether the judge works without the reference, on the reference's own outputs.

    With `expected` None it is a cheap first look before any probe runs (a judge that reaches for
    the reference before reading outputs is found without building, say, a training set).
    """
    sample = expected if expected is not None else {}
    try:
        verdict = judge_for(case.judge, blocked)(sample, sample, case, context)
    except ReferenceUnavailable:
        return False
    except Exception:  # noqa: BLE001 - the first look judges no outputs at all
        if expected is None:
            return True
        raise
    if expected is not None and not verdict.passed:
        raise AuthoringError(context.assignment.root / "checks.py", None,
                             f"{question.id} '{case.name}': the reference fails its own public case ({verdict.message})")  # fmt: skip
    return True


def _store(named: dict[str, np.ndarray], arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """Adds arrays by content hash (equal arrays are stored once); returns name -> key."""
    keys = {}
    for name, value in named.items():
        value = np.asarray(value)
        digest = hashlib.sha256(f"{value.dtype.str}{value.shape}".encode() + value.tobytes()).hexdigest()[:20]
        arrays.setdefault(digest, value)
        keys[name] = digest
    return keys


def _given_hashes(assignment: Assignment, rendered: dict[str, bytes]) -> dict[str, str]:
    """Package modules the template ships unchanged from the reference (no solution inside)."""
    return {
        rel: hashlib.sha256(data).hexdigest()
        for rel, data in rendered.items()
        if rel.startswith(assignment.package + "/") and rel.endswith(".py") and not rel.endswith("__init__.py")
        and (assignment.reference_dir / rel).is_file() and (assignment.reference_dir / rel).read_bytes() == data
    }  # fmt: skip


def _write_archive(manifest: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz (zip of .npy) with fixed timestamps and no compression: the same bytes on every run."""
    entries: dict[str, Entry] = {MANIFEST: json.dumps(manifest, indent=1, sort_keys=True)}
    for key, array in arrays.items():
        member = io.BytesIO()
        np.lib.format.write_array(member, array, allow_pickle=False)
        entries[f"{key}.npy"] = member.getvalue()
    return zip_bytes(entries, compress=False)


def same_public_data(old: bytes, new: bytes, assignment: Assignment) -> bool:
    """Whether two public_expected.npz files would give every student the same verdicts.

    The reference's outputs differ in their last bits between BLAS builds and CPUs (measured: 4e-16
    on a conv output of magnitude 2.4; 1e-7 relative on a float32 loss), so byte equality would call
    a template stale on every other machine. Arrays count as equal when their relative difference
    is a tenth of the case's own threshold (1e-9 where the case has none), far below any verdict.
    """
    try:
        before, after = parse_public_data(old), parse_public_data(new)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return False
    cases_before, cases_after = before.manifest.get("cases", []), after.manifest.get("cases", [])
    stripped = ("cases",)
    if {k: v for k, v in before.manifest.items() if k not in stripped} != {
        k: v for k, v in after.manifest.items() if k not in stripped
    } or len(cases_before) != len(cases_after):
        return False
    thresholds = {(q.id, c.name): c.threshold for q in assignment.questions for c in q.cases}
    return all(
        _same_case(a, b, before, after, thresholds.get((a["question"], a["case"])))
        for a, b in zip(cases_before, cases_after, strict=True)
    )


def _same_case(a: dict, b: dict, before: PublicData, after: PublicData, threshold: float | None) -> bool:
    arrays = ("inputs", "expected")
    if {k: v for k, v in a.items() if k not in arrays} != {k: v for k, v in b.items() if k not in arrays}:
        return False
    tolerance = threshold / 10 if threshold else 1e-9
    for kind in arrays:
        if set(a.get(kind, {})) != set(b.get(kind, {})):
            return False
        for name, key in a.get(kind, {}).items():
            x, y = before.arrays[key], after.arrays[b[kind][name]]
            if x.dtype != y.dtype or x.shape != y.shape:
                return False
            scale = max(float(np.max(np.abs(y), initial=0.0)), 1e-300)
            if x.size and not float(np.max(np.abs(x.astype(np.float64) - y))) <= tolerance * scale:
                return False
    return True
