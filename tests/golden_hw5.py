"""The golden HW5 results: the reference, the template and buggy variants graded at a fixed seed.

`python tests/golden_hw5.py` (from the repository root, PYTHONPATH=.) records them into
tests/golden_hw5.json; tests/test_golden.py grades the same zips again and compares. The record
keeps what a student or a TA reads (scores, statuses, messages, values, parameters, extras) and
leaves out what depends on the machine (times, sandbox kind, stdout). Recorded before the engine
refactor of issue 12, so that a refactor provably changes no score, status or message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from grading_helpers import (  # noqa: E402
    CNN,
    CONV_BACKWARD_PAD_SLICE,
    CONV_FORWARD_IGNORES_STRIDE,
    LAYERS,
    POOL_BACKWARD_STRIDE_IS_POOL,
    make_zip,
    mutate,
    reference_files,
    replace_function,
    source,
)

GOLDEN = HERE / "golden_hw5.json"
SEED = 20261202
SKIP = ("overfit", "train")  # the training groups take minutes; their mechanics have tests of their own
CASE_KEYS = ("name", "hidden", "passed", "status", "metric", "threshold", "points", "max_points", "params",
             "message", "extras")  # fmt: skip
QUESTION_KEYS = ("id", "title", "score", "max_score", "status", "message")
# The initialisation cases measure the spread of weights the student's code draws unseeded: their
# value differs on every run (the verdict does not).
UNSEEDED = ("initialisation (defaults)", "initialisation (float64, small)")
RESULT_KEYS = ("assignment", "assignment_version", "status", "message", "score", "max_score", "seed", "data",
               "files", "manual")  # fmt: skip


def submissions(assignment) -> dict[str, dict[str, str]]:
    """Named submissions: the reference, the template, and one realistic bug per question kind."""
    ref_layers, ref_cnn = source(assignment.reference_dir, LAYERS), source(assignment.reference_dir, CNN)
    missing_cnn = reference_files(assignment)
    del missing_cnn[CNN]
    return {
        "reference": reference_files(assignment),
        "template": {rel: source(assignment.template_dir, rel) for rel in (LAYERS, CNN)},
        "conv_forward_ignores_stride": reference_files(
            assignment, layers=replace_function(ref_layers, "conv_forward_naive", CONV_FORWARD_IGNORES_STRIDE)),
        "conv_backward_pad_slice": reference_files(
            assignment, layers=replace_function(ref_layers, "conv_backward_naive", CONV_BACKWARD_PAD_SLICE)),
        "pool_backward_stride_is_pool": reference_files(
            assignment, layers=replace_function(ref_layers, "max_pool_backward_naive", POOL_BACKWARD_STRIDE_IS_POOL)),
        "l2_without_half": reference_files(
            assignment, cnn=mutate(ref_cnn, "loss += 0.5 * self.reg *", "loss += self.reg *")),
        "missing_cnn": missing_cnn,
        "syntax_error_cnn": reference_files(assignment, cnn="def broken(:\n    pass\n"),
    }  # fmt: skip


def _rounded(value: Any) -> Any:
    """Floats to 4 significant digits: the last bits of a BLAS sum may differ between machines."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def projection(result: dict[str, Any]) -> dict[str, Any]:
    """What the golden record keeps of a result document (its JSON form)."""
    kept = {k: result[k] for k in RESULT_KEYS}
    kept["questions"] = [
        {**{k: q[k] for k in QUESTION_KEYS},
         "cases": [{**{k: c[k] for k in CASE_KEYS}, "value": None if c["name"] in UNSEEDED else c["value"]}
                   for c in q["cases"]]}
        for q in result["questions"]
    ]  # fmt: skip
    return _rounded(kept)


def grade_all(workdir: Path) -> dict[str, dict[str, Any]]:
    from autograder.assignment import load_assignment
    from autograder.grading.run import RunOptions, grade_zip

    assignment = load_assignment("hw5_cnn")
    options = RunOptions(seed=SEED, skip_groups=SKIP, parallel=2, max_blas_threads=1, run_notebook=False)
    out = {}
    for name, files in submissions(assignment).items():
        result = grade_zip(make_zip(workdir / f"{name}.zip", files), assignment, options).to_json()
        out[name] = projection(json.loads(json.dumps(result)))
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.write_text(json.dumps(grade_all(Path(tmp)), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
