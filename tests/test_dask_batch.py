"""`grade batch` on Dask: a real two-process LocalCluster on 127.0.0.1 grades a small class, one
worker process is killed mid-batch, and every submission still gets exactly one gradebook row."""

from __future__ import annotations

import os
import shutil
import signal

import pytest
from click.testing import CliRunner
from grading_helpers import cli_args

from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.course.batch import (
    RETRIES,
    WorkerSettings,
    dask_backend,
    grade_submission,
    plan_batch,
    preflight_cluster,
    run_batch,
)
from autograder.course.gradebook import open_gradebook
from autograder.grading.options import RunOptions
from autograder.student.pack import pack

distributed = pytest.importorskip("distributed")
SEED = 5


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        yield client


@pytest.fixture(scope="module")
def reference_zip(tmp_path_factory, hw5):
    return pack(hw5, hw5.reference_dir, tmp_path_factory.mktemp("zips") / "reference.zip", require_notebook=False).path


def _class(folder, reference_zip, students):
    folder.mkdir()
    for student in students:
        shutil.copyfile(reference_zip, folder / f"{student}.zip")
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 truncated")
    return folder


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(tmp_path, client, hw5, reference_zip):
    students = [f"2025{n:03d}" for n in range(8)]
    folder = _class(tmp_path / "class", reference_zip, students)
    settings = WorkerSettings(hw5.id, RunOptions(seed=SEED, only=("Q1",), skip_groups=("overfit", "train"), run_notebook=False))
    killed = []

    def kill_a_busy_worker(outcome) -> None:
        if killed:
            return
        busy = [address for address, keys in client.processing().items() if keys]
        if busy:
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            held = client.processing().get(busy[0], ())  # read before the kill: the scheduler then forgets it
            os.kill(pid, signal.SIGKILL)
            killed.append(held)

    with open_gradebook(tmp_path / "gb.sqlite") as book:
        report = plan_batch(folder, hw5, book, settings)
        run_batch(report, hw5, book, dask_backend(client), on_outcome=kill_a_busy_worker)
        rows = book.attempts()
    assert killed and killed[0], "no worker was busy when the first result arrived"
    print("killed a worker processing", killed[0])
    assert sorted(a.student for a in rows) == sorted([*students, "broken"])  # exactly one row each
    assert report.counts() == {"graded": len(students), "ungradable": 1}
    assert {a.score for a in rows if a.status == "graded"} == {15.0}


def flaky(name: str, data: bytes, student: str, settings: WorkerSettings) -> dict:
    """Raises for one student, logging each try in `artifacts_dir` (unused: no notebook runs)."""
    if student == "raises":
        with open(settings.options.artifacts_dir / "tries.log", "a") as log:
            log.write("try\n")
        raise RuntimeError("a bug in the grader")
    return grade_submission(name, data, student, settings)


def test_a_raising_task_is_retried_then_a_fault_row(tmp_path, client, hw5, reference_zip):
    folder = _class(tmp_path / "class", reference_zip, ["raises", "fine"])
    settings = WorkerSettings(hw5.id, RunOptions(seed=SEED, only=("Q1",), skip_groups=("overfit", "train"), run_notebook=False,
                              artifacts_dir=tmp_path))  # fmt: skip
    with open_gradebook(tmp_path / "gb.sqlite") as book:
        report = plan_batch(folder, hw5, book, settings)
        run_batch(report, hw5, book, dask_backend(client), worker=flaky)
        assert sorted(a.student for a in book.attempts()) == ["broken", "fine"]
    fault = next(o for o in report.outcomes if o.status == "fault")
    assert fault.entry.student == "raises" and fault.message == "RuntimeError: a bug in the grader"
    assert (tmp_path / "tries.log").read_text().count("try") == 1 + RETRIES


def test_cli_sends_the_batch_to_a_scheduler(tmp_path, client, reference_zip):
    folder = _class(tmp_path / "class", reference_zip, ["2025100", "2025101"])
    args = ["batch", str(folder), "--scheduler", client.scheduler.address, "--seed", str(SEED), "--gradebook",
            str(tmp_path / "gb.sqlite"), "--no-training", "--no-notebook", "-q", "Q3"]  # fmt: skip
    run = CliRunner().invoke(main, cli_args(*args), catch_exceptions=False)
    assert run.exit_code == 0, run.output
    assert "graded 2, ungradable 1, internal faults 0, skipped as already graded 0" in run.output
    with open_gradebook(tmp_path / "gb.sqlite") as book:
        assert sorted((a.student, a.score) for a in book.attempts()) == [("2025100", 10.0), ("2025101", 10.0), ("broken", 0.0)]


def _switch_bwrap(off: bool) -> None:
    """On a worker: make bubblewrap unusable (or usable again) for its next sandbox run."""
    from autograder.sandbox.command import probe_bwrap

    if off:
        os.environ["AUTOGRADER_NO_BWRAP"] = "1"
    else:
        os.environ.pop("AUTOGRADER_NO_BWRAP", None)
    probe_bwrap.cache_clear()


def test_cli_stops_before_grading_when_a_worker_fails_the_preflight(tmp_path, client, hw5, reference_zip):
    settings = WorkerSettings(hw5.id, RunOptions(seed=SEED))
    assert preflight_cluster(client, settings) == []
    folder = _class(tmp_path / "class", reference_zip, ["2025200"])
    args = ["batch", str(folder), "--scheduler", client.scheduler.address, "--seed", str(SEED), "--gradebook",
            str(tmp_path / "gb.sqlite"), "--no-training", "--no-notebook", "-q", "Q3"]  # fmt: skip
    client.run(_switch_bwrap, True)
    try:
        run = CliRunner().invoke(main, cli_args(*args), catch_exceptions=False)
    finally:
        client.run(_switch_bwrap, False)
    assert run.exit_code == 4, run.output
    assert "nothing graded: worker tcp://127.0.0.1" in run.output and "AUTOGRADER_NO_BWRAP" in run.output
    with open_gradebook(tmp_path / "gb.sqlite") as book:
        assert book.attempts() == []
