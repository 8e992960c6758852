"""A grader fault is never a student's grade: a sandbox that cannot start, a grader exception or a
host without working bubblewrap give an `error` result (no score), exit code 4, no gradebook
attempt, and one line naming the cause and the fix. Fast questions only, no notebook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from grading_helpers import cli_args, make_zip, reference_files

from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.config import Config, ConfigError, read_config
from autograder.course.batch import (
    WorkerSettings,
    grade_submission,
    local_pool,
    plan_batch,
    run_batch,
    summary_text,
)
from autograder.course.gradebook import open_gradebook
from autograder.grading.result import Result
from autograder.grading.run import RunOptions, grade_zip
from autograder.reports.terminal import render_result
from autograder.sandbox import supervisor
from autograder.sandbox.command import (
    WORK_MOUNT,
    SandboxUnavailable,
    bwrap_command,
    bwrap_path,
    isolation_for,
    probe_bwrap,
    python_roots,
    reachable_by_others,
)
from autograder.sandbox.preflight import PreflightFailed, preflight

REPO = Path(__file__).resolve().parents[1]
UID_MAP = "bwrap: setting up uid map: Permission denied"
needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap cannot create namespaces here")


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


@pytest.fixture(scope="module")
def reference_zip(tmp_path_factory, hw5) -> Path:
    return make_zip(tmp_path_factory.mktemp("zips") / "submit.zip", reference_files(hw5))


@pytest.fixture
def fake_bwrap(tmp_path) -> dict[str, str]:
    """An environment whose `bwrap` fails as under a policy that forbids user namespaces."""
    folder = tmp_path / "fakebin"
    folder.mkdir()
    script = folder / "bwrap"
    script.write_text(f"#!/bin/sh\necho '{UID_MAP}' >&2\nexit 1\n")
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}", "PYTHONPATH": str(REPO)}


def broken_start(real):
    """bwrap refuses its command line, as a sandbox that cannot start does."""
    return lambda *args: [real(*args)[0], "--no-such-option", *real(*args)[1:]]


def q1(**extra) -> RunOptions:
    return RunOptions(seed=3, only=("Q1",), skip_groups=("overfit", "train"), run_notebook=False, **extra)


@needs_bwrap
def test_sandbox_that_cannot_start_is_an_error_without_a_score(reference_zip, hw5, monkeypatch):
    monkeypatch.setattr(supervisor, "bwrap_command", broken_start(supervisor.bwrap_command))
    result = grade_zip(reference_zip, hw5, q1()).to_json()
    assert result["status"] == "error" and result["score"] is None and result["questions"] == []
    assert "could not start after 3 tries" in result["message"] and "no-such-option" in result["message"]
    assert "not the student's fault" in result["message"]
    json.dumps(result, allow_nan=False)
    shown = render_result(Result.from_json(result), colour=False)
    assert "NOT GRADED" in shown and "0/100" not in shown


def test_grader_exception_is_an_error_with_its_traceback(reference_zip, hw5, monkeypatch):
    import autograder.grading.run as grade_module

    def broken(*args):
        raise RuntimeError("a bug in checks.py")

    monkeypatch.setattr(grade_module, "prepare_case", broken)
    result = grade_zip(reference_zip, hw5, q1(allow_weaker_isolation=True)).to_json()
    assert result["status"] == "error" and result["score"] is None
    assert "RuntimeError: a bug in checks.py" in result["message"]
    assert "RuntimeError" in result["fault"]["traceback"]


def test_gradebook_never_records_a_fault(tmp_path, reference_zip, hw5, monkeypatch):
    monkeypatch.setattr("autograder.grading.run.prepare_case", lambda *a: 1 / 0)
    result = grade_zip(reference_zip, hw5, q1(allow_weaker_isolation=True)).to_json()
    with open_gradebook(tmp_path / "gb.sqlite") as book:
        with pytest.raises(ValueError, match="no grade"):
            book.record(result, "s1")
        assert book.attempts() == []


def broken_sandbox_worker(name: str, data: bytes, student: str, settings: WorkerSettings) -> dict:
    """Grades normally, except that the sandbox cannot start for the student 'broken'."""
    real = supervisor.bwrap_command
    if student == "broken":
        supervisor.bwrap_command = broken_start(real)
    try:
        return grade_submission(name, data, student, settings)
    finally:
        supervisor.bwrap_command = real


@needs_bwrap
def test_batch_records_no_attempt_for_a_fault_and_a_rerun_grades_it(tmp_path, reference_zip, hw5):
    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("good", "broken"):
        (folder / f"{student}.zip").write_bytes(reference_zip.read_bytes())
    settings = WorkerSettings(hw5.id, RunOptions(seed=5, only=("Q1",), skip_groups=("overfit", "train"), run_notebook=False))
    with open_gradebook(tmp_path / "gb.sqlite") as book:
        first = run_batch(plan_batch(folder, hw5, book, settings), hw5, book, local_pool(2), worker=broken_sandbox_worker)
        assert {o.entry.student: o.status for o in first.outcomes} == {"good": "graded", "broken": "fault"}
        assert {a.student for a in book.attempts()} == {"good"}
        assert "internal faults 1" in summary_text(first) and "could not start" in summary_text(first)
        assert "NO GRADE YET for 1 student(s)" in summary_text(first) and "broken;" in summary_text(first)
        missing, = book.missing_grades(hw5.id)
        assert missing.student == "broken" and "could not start" in missing.message
    exported = CliRunner().invoke(main, cli_args(*["export", "--gradebook", str(tmp_path / "gb.sqlite"), "--format", "csv",
                                         "-o", str(tmp_path / "grades.csv")]))  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert "student 'broken': no grade" in exported.output and "1 student(s) missing a grade" in exported.output
    assert "broken" not in (tmp_path / "grades.csv").read_text()  # no row, so never a 0
    pages = CliRunner().invoke(main, cli_args(*["report", "--gradebook", str(tmp_path / "gb.sqlite"), "-o", str(tmp_path / "pages")]))
    assert pages.exit_code == 0, pages.output
    summary = (tmp_path / "pages" / "index.html").read_text()
    assert "Missing a grade" in summary and "<td>broken</td>" in summary
    with open_gradebook(tmp_path / "gb.sqlite") as book:
        again = plan_batch(folder, hw5, book, settings)
        assert [job.entry.student for job in again.pending] == ["broken"]
        run_batch(again, hw5, book, local_pool(1))
        assert {a.student: a.status for a in book.attempts()} == {"good": "graded", "broken": "graded"}
        assert book.missing_grades(hw5.id) == []


def _cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *cli_args(*args)], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_failing_bwrap_refuses_before_grading_anyone(tmp_path, fake_bwrap, reference_zip):
    zip_run = _cli(fake_bwrap, str(reference_zip), "--no-training", "-q", "Q1", cwd=tmp_path)
    assert zip_run.returncode == 4, zip_run.stdout + zip_run.stderr
    assert zip_run.stdout == "" and "Traceback" not in zip_run.stderr
    line, = zip_run.stderr.strip().splitlines()
    assert line.startswith("Error: nothing graded: ") and "uid map: Permission denied" in line
    assert "--allow-weaker-isolation" in line
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "s1.zip").write_bytes(reference_zip.read_bytes())
    batch = _cli(fake_bwrap, "batch", str(folder), "--gradebook", str(tmp_path / "gb.sqlite"), "--no-training",
                 "-q", "Q1", cwd=tmp_path)  # fmt: skip
    assert batch.returncode == 4, batch.stdout + batch.stderr
    assert "nothing graded" in batch.stderr and "Traceback" not in batch.stderr
    assert not (tmp_path / "gb.sqlite").exists()  # stopped before the gradebook was even opened


def test_weaker_isolation_is_explicit_and_never_root(tmp_path, fake_bwrap, reference_zip):
    """--allow-weaker-isolation grades with rlimits only and says so; as root it still refuses a runtime
    other users cannot reach (it would have to run student code as root)."""
    run = _cli(fake_bwrap, str(reference_zip), "--no-training", "--no-notebook", "-q", "Q1", "--json",
               str(tmp_path / "r.json"), "--allow-weaker-isolation", cwd=tmp_path)  # fmt: skip
    if os.geteuid() == 0 and not reachable_by_others(Path(sys.executable)):
        assert run.returncode == 4 and "never runs student code as root" in run.stderr
        return
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["sandbox"]["kind"] == "rlimits-only" and "--allow-weaker-isolation" in result["sandbox"]["warning"]
    assert result["questions"][0]["status"] == "passed"


def test_config_file_sets_the_weaker_isolation_default(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_NO_BWRAP", "1")
    probe_bwrap.cache_clear()
    monkeypatch.setattr("autograder.sandbox.command.grader_is_root", lambda: False)  # as a non-root grader runs it
    monkeypatch.setattr("autograder.sandbox.preflight.sandbox_uid", lambda slot: None)
    try:
        config = tmp_path / "grade.toml"
        config.write_text("[sandbox]\nallow_weaker_isolation = true\n")
        assert read_config(config) == Config(allow_weaker_isolation=True)
        refused = CliRunner().invoke(main, cli_args(*["doctor"]))
        allowed = CliRunner().invoke(main, cli_args(*["--config", str(config), "doctor"]))
        overridden = CliRunner().invoke(main, cli_args(*["--config", str(config), "doctor", "--require-bubblewrap"]))
    finally:
        probe_bwrap.cache_clear()
    assert refused.exit_code == 4 and "--allow-weaker-isolation" in refused.output
    assert allowed.exit_code == 0, allowed.output
    assert "rlimits-only" in allowed.output and "WARNING" in allowed.output
    assert overridden.exit_code == 4


@pytest.mark.parametrize("text, error", [
    ("[sandbox]\nallow_weaker_isolation = 'yes'\n", "must be true or false"),
    ("[sandbox]\nallow_weaker = true\n", "unknown setting sandbox.allow_weaker"),
    ("[grading]\nx = 1\n", "unknown setting [grading]"),
    ("[sandbox\n", "not valid UTF-8 TOML"),
])  # fmt: skip
def test_a_bad_config_file_is_one_line_and_exit_1(tmp_path, text, error):
    config = tmp_path / "grade.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="grade.toml"):
        read_config(config)
    result = CliRunner().invoke(main, cli_args(*["--config", str(config), "doctor"]))
    assert result.exit_code == 1 and error in result.output and len(result.output.strip().splitlines()) == 1


def test_unavailable_sandbox_names_cause_and_fix(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_NO_BWRAP", "1")
    probe_bwrap.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="AUTOGRADER_NO_BWRAP.*--allow-weaker-isolation"):
            isolation_for(None, allow_weaker=False)
        with pytest.raises(PreflightFailed, match="AUTOGRADER_NO_BWRAP"):
            preflight(load_assignment("hw5_cnn").limits, allow_weaker=False)
    finally:
        probe_bwrap.cache_clear()


def test_runtime_is_bound_after_the_private_tmp(tmp_path, hw5):
    """A runtime under /tmp (a virtualenv there) must not be hidden by the sandbox's own /tmp."""
    cmd = bwrap_command(tmp_path, tmp_path, "intro2ai", hw5.limits, None, ["python3"])
    private = [cmd.index(mount) for mount in ("/tmp", "/dev/shm", WORK_MOUNT)]
    for root in python_roots():
        bound = max(i for i, arg in enumerate(cmd) if arg == root and cmd[i - 2] == "--ro-bind")
        assert bound > max(private), root


@needs_bwrap
def test_preflight_reports_what_the_sandbox_saw(hw5):
    result = preflight(hw5.limits, allow_weaker=False)
    assert result.isolation.kind == "bwrap" and result.numpy and result.python == sys.version.split()[0]
    if os.geteuid() == 0:
        assert result.uid == result.isolation.uid != 0


@needs_bwrap
def test_doctor_shows_the_whole_picture():
    result = CliRunner().invoke(main, cli_args(*["doctor"]))
    assert result.exit_code == 0, result.output
    for label in ("bubblewrap", "user namespaces", "uid drop", "cgroup", "CPU wait", "runtime", "bound read-only",
                  "BLAS in the sandbox", "preflight"):  # fmt: skip
        assert label in result.output
    assert sys.executable in result.output


def test_gradescope_run_without_a_working_sandbox_gives_no_score(tmp_path, monkeypatch, capsys):
    from autograder.reports.gradescope_bundle import CONFIG, FAULT_OUTPUT, run_autograder

    (tmp_path / "source").mkdir()
    (tmp_path / "source" / CONFIG).write_text(json.dumps({"assignment": "hw5_cnn", "options": {"only": ["Q1"]}}))
    (tmp_path / "submission").mkdir()
    monkeypatch.setenv("AUTOGRADER_NO_BWRAP", "1")
    probe_bwrap.cache_clear()
    try:
        assert run_autograder(tmp_path) == 1
    finally:
        probe_bwrap.cache_clear()
    assert json.loads((tmp_path / "results" / "results.json").read_text()) == {"output": FAULT_OUTPUT, "tests": []}
    assert "AUTOGRADER_NO_BWRAP" in capsys.readouterr().err  # the cause, in the log staff see
