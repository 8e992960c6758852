"""`grade check`: public cases on the student's machine, judged like the grader, never the hidden ones."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from grading_helpers import LAYERS, cli_args, mutate, source

from autograder.assignment import load_assignment
from autograder.authoring.generate import render_template
from autograder.authoring.public_data import _write_archive
from autograder.cli import main
from autograder.grading import run as grade
from autograder.grading.run import GradingContext, expand_cases
from autograder.student import selfcheck

REPO = Path(__file__).resolve().parent.parent
LOCAL_CASES, LATER_CASES = 10, 2  # HW5's public cases: judged here / needing the reference


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


@pytest.fixture(scope="module")
def rendered(hw5) -> dict[str, bytes]:
    return render_template(hw5).files


@pytest.fixture(scope="module")
def template_copy(rendered, tmp_path_factory) -> Path:
    """The starter code exactly as `grade generate` writes it."""
    folder = tmp_path_factory.mktemp("template")
    for rel, data in rendered.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


def _reference_copy(hw5, rendered, folder: Path, layers: str | None = None) -> Path:
    """A working copy holding the reference solution (and the shipped public data)."""
    shutil.copytree(hw5.reference_dir / hw5.package, folder / hw5.package,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (folder / selfcheck.PUBLIC_EXPECTED).write_bytes(rendered[selfcheck.PUBLIC_EXPECTED])
    if layers is not None:
        (folder / LAYERS).write_text(layers, encoding="utf-8")
    return folder


def _check(folder: Path, *args: str):
    result = CliRunner().invoke(main, cli_args(*["check", str(folder), *args]))
    assert "Traceback" not in result.output, result.output
    return result


def _lines(output: str, label: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith(label)]


# ------------------------------------------------------------------ the shipped file


def test_public_data_is_deterministic_and_holds_only_public_cases(hw5, rendered, tmp_path) -> None:
    data = rendered[selfcheck.PUBLIC_EXPECTED]
    assert render_template(hw5).files[selfcheck.PUBLIC_EXPECTED] == data  # `grade generate --check` stays in sync
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read(selfcheck.MANIFEST))
        names = archive.namelist()
    public = [(q.id, c.name) for q in hw5.questions for c in q.cases]
    assert [(c["question"], c["case"]) for c in manifest["cases"]] == public
    modes = [c["mode"] for c in manifest["cases"]]
    assert modes.count("local") == LOCAL_CASES and modes.count(selfcheck.AFTER_SUBMISSION) == LATER_CASES
    assert all(c["mode"] == "local" for c in manifest["cases"] if c["question"] != "Q5")
    assert {name for name in names if not name.endswith(".npy")} == {selfcheck.MANIFEST}
    # the loaded arrays are exactly the reference's outputs for the seed notebook's cell-3 inputs
    (tmp_path / selfcheck.PUBLIC_EXPECTED).write_bytes(data)
    loaded = selfcheck.read_public_data(tmp_path / selfcheck.PUBLIC_EXPECTED)
    cell3 = next(c for c in manifest["cases"] if c["case"] == "seed cell 3")
    inputs, expected = loaded.prepared(cell3)
    checks = hw5.checks()
    again = checks.expect_conv_forward(inputs, hw5.question("Q1").cases[0].params, None)
    np.testing.assert_array_equal(expected["out"], again["out"])
    np.testing.assert_array_equal(inputs["x"], np.linspace(-0.1, 0.5, num=96).reshape(2, 3, 4, 4))


def test_committed_template_ships_the_public_data(hw5) -> None:
    assert (hw5.template_dir / selfcheck.PUBLIC_EXPECTED).is_file()


# ------------------------------------------------------------------ verdicts


def test_reference_passes_every_public_case(hw5, rendered, tmp_path) -> None:
    result = _check(_reference_copy(hw5, rendered, tmp_path))
    assert result.exit_code == 0, result.output
    assert len(_lines(result.output, "PASS")) == LOCAL_CASES
    assert len(_lines(result.output, "LATER")) == LATER_CASES
    assert not _lines(result.output, "FAIL") and not _lines(result.output, "TODO")
    assert f"Total: {LOCAL_CASES} of {LOCAL_CASES} public cases passed here" in result.output
    assert "rel_error 0 (threshold 1e-07)" in result.output  # measured value and the grader's threshold


def test_template_is_all_not_implemented_with_exit_0(template_copy) -> None:
    result = _check(template_copy)
    assert result.exit_code == 0, result.output
    todo = _lines(result.output, "TODO")
    assert len(todo) == LOCAL_CASES and all("not implemented yet" in line for line in todo)
    for qid in ("Q1", "Q2", "Q3", "Q4", "Q5"):
        assert any(line.startswith(qid) and "not implemented yet" in line for line in result.output.splitlines())
    assert f"Total: 0 of {LOCAL_CASES} public cases passed here" in result.output


def test_a_bug_fails_its_case_with_error_and_threshold(hw5, rendered, tmp_path) -> None:
    no_bias = mutate(source(hw5.reference_dir, LAYERS), "axes=([1, 2, 3], [1, 2, 3])) + b", "axes=([1, 2, 3], [1, 2, 3]))")
    result = _check(_reference_copy(hw5, rendered, tmp_path, layers=no_bias))
    assert result.exit_code == 0, result.output
    (failure,) = _lines(result.output, "FAIL")
    assert failure.startswith("FAIL  seed cell 3: rel_error")
    value = float(failure.split("rel_error ")[1].split(" ")[0])
    assert value > 1e-2 and "(threshold 1e-07)" in failure and "worst is out" in failure
    assert "Q1 conv_forward_naive: failed (0/1 public cases passed)" in result.output
    assert len(_lines(result.output, "PASS")) == LOCAL_CASES - 1


@pytest.mark.parametrize("body, status", [("import os\n    os._exit(7)", "crashed"), ("while True:\n        pass", "timeout")])
def test_a_crash_or_hang_costs_only_its_questions(hw5, rendered, tmp_path, body, status) -> None:
    """conv_forward_naive kills or hangs its child: Q1 loses its case; the other questions still run
    and pass, Q2 too (its case runs on the reference's cache, not on conv_forward_naive's)."""
    start = '    stride, pad = conv_param["stride"], conv_param["pad"]\n    N, C, H, W = x.shape\n'
    bad = mutate(source(hw5.reference_dir, LAYERS), start, f"    {body}\n")
    folder = _reference_copy(hw5, rendered, tmp_path, layers=bad)
    quick = dataclasses.replace(hw5, limits=dataclasses.replace(hw5.limits, timeout_s=2.0))
    report = selfcheck.check_working_copy(folder, quick)
    by_id = {q.question.id: q for q in report.questions}
    assert by_id["Q1"].results[0].status == status
    assert by_id["Q1"].status != "passed"
    assert all(by_id[qid].status == "passed" for qid in ("Q2", "Q3", "Q4", "Q5"))
    assert report.passed == LOCAL_CASES - 1


# ------------------------------------------------------------------ hidden cases stay hidden


def test_no_hidden_case_is_generated_or_shown(hw5, rendered, tmp_path, monkeypatch) -> None:
    generators = {q.hidden.generator for q in hw5.questions if q.hidden}

    def refuse(*args, **kwargs):
        raise AssertionError("a hidden-case generator was called")

    for name in generators:  # the staff checks module ...
        monkeypatch.setattr(hw5.checks(), name, refuse)
    monkeypatch.setattr(grade, "expand_cases", refuse)
    original = selfcheck.blocked_checks

    def guarded(*args, **kwargs):  # ... and the reference-free copy grade check loads
        module = original(*args, **kwargs)
        for name in generators:
            setattr(module, name, refuse)
        return module

    monkeypatch.setattr(selfcheck, "blocked_checks", guarded)
    folder = _reference_copy(hw5, rendered, tmp_path)
    output = _check(folder).output.replace(str(folder), "")
    monkeypatch.undo()
    assert output.lower().count("hidden") == output.count(selfcheck.HIDDEN_NOTE) == 2
    for seed in (1, 2, 3):
        context = GradingContext(hw5, seed, None)
        for index, question in enumerate(hw5.questions):
            for case in expand_cases(question, index, context):
                if case.hidden:
                    assert case.name not in output and str(case.params["seed"]) not in output


# ------------------------------------------------------------------ the student's environment


def test_runs_where_the_reference_does_not_exist(hw5, rendered, tmp_path) -> None:
    """A grader without reference/ (as students get it), run from inside the working copy, where
    the student's own package shadows nothing in the checker: still all public cases pass."""
    grader = tmp_path / "grader"
    for part in ("autograder", "assignments"):
        shutil.copytree(REPO / part, grader / part, ignore=shutil.ignore_patterns("__pycache__"))
    working = _reference_copy(hw5, rendered, tmp_path / "hw5")
    probe = ("import sys; from autograder.cli import main; import autograder.assignment as a; "
             "assert not (a.REPO_ROOT / 'reference').exists(); main(['check'])")  # fmt: skip
    run = subprocess.run([sys.executable, "-B", "-c", probe], cwd=working, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(grader), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"Total: {LOCAL_CASES} of {LOCAL_CASES} public cases passed here" in run.stdout


def test_with_training_times_the_training_cases(hw5, rendered, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("INTRO2AI_MAX_TRAIN", "100")  # the given data loader's cap: a short epoch
    result = _check(_reference_copy(hw5, rendered, tmp_path), "--with-training", "--data", "embedded")
    assert result.exit_code == 0, result.output
    later = _lines(result.output, "LATER")
    assert len(later) == LATER_CASES and all("ran to the end in" in line and "time limit" in line for line in later)


def test_missing_public_data_is_a_one_line_refusal(tmp_path) -> None:
    (tmp_path / "intro2ai").mkdir()
    result = _check(tmp_path)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: no {selfcheck.PUBLIC_EXPECTED} in {tmp_path} — run `grade check` in the folder of the unpacked "
        "starter code (the one holding the package folder and the notebook)"
    ]


def test_stale_public_data_is_refused(hw5, rendered, tmp_path) -> None:
    folder = _reference_copy(hw5, rendered, tmp_path)
    with zipfile.ZipFile(io.BytesIO(rendered[selfcheck.PUBLIC_EXPECTED])) as archive:
        manifest = json.loads(archive.read(selfcheck.MANIFEST))
        arrays = {n[:-4]: np.load(io.BytesIO(archive.read(n))) for n in archive.namelist() if n.endswith(".npy")}
    manifest["cases"][0]["fingerprint"] = "0" * 16  # as if the threshold had changed since
    (folder / selfcheck.PUBLIC_EXPECTED).write_bytes(_write_archive(manifest, arrays))
    result = _check(folder)
    assert result.exit_code == 1
    assert "does not match Q1 'seed cell 3'" in result.output and len(result.output.strip().splitlines()) == 1
