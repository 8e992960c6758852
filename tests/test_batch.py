"""`grade batch` on the local process pool: LMS layouts mapped to students, one gradebook row per
submission, resuming without regrading, and bad zips, raising or dying workers that cost only
themselves. Fast questions only (Q1, Q3), no training, no notebook."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from grading_helpers import (
    CNN,
    CONV_FORWARD_IGNORES_STRIDE,
    LAYERS,
    cli_args,
    make_zip,
    mutate,
    reference_files,
    replace_function,
    source,
)

from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.course.batch import (
    WorkerDied,
    WorkerSettings,
    grade_submission,
    local_pool,
    plan_batch,
    run_batch,
    summary_text,
)
from autograder.course.gradebook import open_gradebook
from autograder.course.lms_layout import discover
from autograder.grading.options import RunOptions
from autograder.student.pack import pack

FAST = ["--no-training", "--no-notebook", "-q", "Q1", "-q", "Q3"]
SEED = 11


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


@pytest.fixture(scope="module")
def zips(tmp_path_factory, hw5) -> dict[str, Path]:
    """The reference, the template, two buggy variants and a file that is not a zip."""
    folder = tmp_path_factory.mktemp("zips")
    layers = source(hw5.reference_dir, LAYERS)
    mean_pool = mutate(layers, "out[:, :, i, j] = window.max(axis=(2, 3))", "out[:, :, i, j] = window.mean(axis=(2, 3))")
    return {
        "reference": pack(hw5, hw5.reference_dir, folder / "reference.zip", require_notebook=False).path,
        "template": make_zip(folder / "template.zip", {rel: source(hw5.template_dir, rel) for rel in (LAYERS, CNN)}),
        "no_stride": make_zip(folder / "no_stride.zip", reference_files(
            hw5, layers=replace_function(layers, "conv_forward_naive", CONV_FORWARD_IGNORES_STRIDE))),
        "mean_pool": make_zip(folder / "mean_pool.zip", reference_files(hw5, layers=mean_pool)),
        "not_a_zip": _write(folder / "not_a_zip.zip", "these are my answers, sorry I could not zip them\n"),
    }  # fmt: skip


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# Where each zip goes in the class folder, and the student id its name maps to.
CLASS = {
    "2023001.zip": ("reference", "2023001"),
    "kimminsu_1001_70001_submit.zip": ("template", "1001"),
    "leejiwon_LATE_1002_70002_submit-1.zip": ("no_stride", "1002"),
    "Park Seoyeon_5501_assignsubmission_file_/submit.zip": ("mean_pool", "5501"),
    "2023009.zip": ("not_a_zip", "2023009"),
}


@pytest.fixture
def class_folder(tmp_path, zips) -> Path:
    folder = tmp_path / "class"
    for name, (kind, _) in CLASS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(zips[kind], folder / name)
    _write(folder / "readme.txt", "bulk download notes")
    return folder


def _batch(folder: Path, gradebook: Path, *extra: str, seed: int = SEED):
    args = ["batch", str(folder), "-j", "2", "--seed", str(seed), "--gradebook", str(gradebook), *FAST, *extra]
    return CliRunner().invoke(main, cli_args(*args), catch_exceptions=False)


def test_layouts_map_to_students(tmp_path):
    names = {
        "doejane_LATE_4242_900_submit.zip": ("4242", "canvas", True),
        "o_brienpat_77_901_HW5 final.zip": ("77", "canvas", False),
        "anon_Xy12z_902_submit.zip": ("anon_Xy12z", "canvas", False),
        "LATE_anon_Qw9er_903_submit.zip": ("anon_Qw9er", "canvas", True),
        "Hong Gildong_31_assignsubmission_file_/submit.zip": ("31", "moodle", False),
        "Choi Yuna_32_assignsubmission_file/nested/hw5.zip": ("32", "moodle", False),
        "Jung Hana_33_assignsubmission_file_submit.zip": ("33", "moodle", False),
        "20231234.zip": ("20231234", "plain", False),
        "doejane_LATE_4242_901_notes.pdf": None,  # ignored: 4242 also sent a zip
        "Hong Gildong_31_assignsubmission_onlinetext_/onlinetext.html": None,  # ignored
        "submit.zip": None,  # unmapped: generic
        "my homework.zip": None,  # unmapped: not an id
        "notes.txt": None,  # unmapped
        ".DS_Store": None,  # junk: not even reported
        "Hong Gildong_31_assignsubmission_file_/__MACOSX/._submit.zip": None,  # junk
    }
    for name in names:
        _write(tmp_path / name, "x")
    found = discover(tmp_path, frozenset({"submit"}))
    mapped = {str(e.path.relative_to(tmp_path)): (e.student, e.layout, e.late) for e in found.entries}
    assert mapped == {name: want for name, want in names.items() if want}
    assert sorted(p.name for p, _ in found.unmapped) == ["my homework.zip", "notes.txt", "submit.zip"]
    assert sorted(p.name for p, _ in found.ignored) == ["doejane_LATE_4242_901_notes.pdf", "onlinetext.html"]
    assert "rename it <student id>.zip" in dict((p.name, w) for p, w in found.unmapped)["submit.zip"]


def test_class_is_graded_once_per_submission(tmp_path, class_folder, hw5):
    gradebook, results = tmp_path / "gb.sqlite", tmp_path / "results"
    run = _batch(class_folder, gradebook, "--results-dir", str(results))
    assert run.exit_code == 0, run.output
    assert "graded 4, ungradable 1, internal faults 0, skipped as already graded 0" in run.output
    assert "readme.txt" in run.output and "marked LATE by Canvas: 1002" in run.output
    with open_gradebook(gradebook) as book:
        rows = {a.student: a for a in book.attempts("hw5_cnn")}
    assert sorted(rows) == sorted(student for _, student in CLASS.values())
    assert all(a.seed == SEED and a.assignment_version == hw5.version for a in rows.values())
    assert rows["2023001"].score == 25  # Q1 15 + Q3 10
    assert rows["1001"].score == 0 and {q.status for q in rows["1001"].questions} == {"not_implemented"}
    no_stride, mean_pool = ({q.id: q for q in rows[s].questions} for s in ("1002", "5501"))
    assert no_stride["Q1"].score < 15 and no_stride["Q3"].score == 10
    assert mean_pool["Q1"].score == 15 and mean_pool["Q3"].score < 10
    assert rows["2023009"].status == "ungradable" and rows["2023009"].score == 0
    assert rows["1002"].submission == "leejiwon_LATE_1002_70002_submit-1.zip"  # the original name
    saved = {p.name for p in results.glob("*.json")}
    assert len(saved) == len(CLASS) + 1 and "batch-summary.json" in saved
    summary = json.loads((results / "batch-summary.json").read_text())
    assert summary["seed"] == SEED and summary["counts"] == {"graded": 4, "ungradable": 1}
    assert [u["file"].endswith("readme.txt") for u in summary["unmapped"]] == [True]


def test_rerun_with_the_same_seed_regrades_nothing(tmp_path, class_folder):
    gradebook = tmp_path / "gb.sqlite"
    assert _batch(class_folder, gradebook).exit_code == 0
    with open_gradebook(gradebook) as book:
        before = {a.id: (a.graded_at, a.sha256) for a in book.attempts()}
    again = _batch(class_folder, gradebook)
    assert again.exit_code == 0, again.output
    assert f"graded 0, ungradable 0, internal faults 0, skipped as already graded {len(CLASS)}" in again.output
    with open_gradebook(gradebook) as book:
        assert {a.id: (a.graded_at, a.sha256) for a in book.attempts()} == before
    other_seed = _batch(class_folder, gradebook, seed=SEED + 1)
    assert "graded 4, ungradable 1, internal faults 0, skipped as already graded 0" in other_seed.output


def test_unknown_question_and_two_backends_are_usage_errors(tmp_path, class_folder):
    unknown = _batch(class_folder, tmp_path / "gb.sqlite", "-q", "Q9")
    assert unknown.exit_code == 2 and "Q9" in unknown.output
    both = _batch(class_folder, tmp_path / "gb.sqlite", "--workers", "2")
    assert both.exit_code == 2 and "-j" in both.output
    assert not (tmp_path / "gb.sqlite").exists()


def test_interrupted_batch_resumes_without_regrading(tmp_path, zips):
    folder, gradebook, total = tmp_path / "class", tmp_path / "gb.sqlite", 8
    folder.mkdir()
    for n in range(total):
        shutil.copyfile(zips["reference"], folder / f"20240{n:02d}.zip")
    command = [sys.executable, "-c", "from autograder.cli import main; main()", "batch", str(folder), "-a", "hw5_cnn", "-j", "1",
               "--seed", str(SEED), "--gradebook", str(gradebook), *FAST]  # fmt: skip
    batch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers = _wait_for_first_row(gradebook, batch)
    batch.send_signal(signal.SIGINT)
    output, _ = batch.communicate(timeout=60)
    assert batch.returncode == 130, output
    assert "interrupted with" in output and f"--seed {SEED}" in output
    assert workers, "no worker process was seen"
    deadline = time.monotonic() + 10  # the resource tracker exits once it sees EOF
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "processes outlived the interrupted batch"
    with open_gradebook(gradebook) as book:
        first = {a.id: (a.student, a.graded_at) for a in book.attempts()}
    assert 1 <= len(first) < total, output
    resumed = _batch(folder, gradebook)
    assert resumed.exit_code == 0, resumed.output
    assert f"graded {total - len(first)}, ungradable 0, internal faults 0, skipped as already graded {len(first)}" in resumed.output
    with open_gradebook(gradebook) as book:
        rows = book.attempts()
    assert sorted(a.student for a in rows) == sorted(p.stem for p in folder.iterdir())
    assert {a.id: (a.student, a.graded_at) for a in rows if a.id in first} == first


def _wait_for_first_row(gradebook: Path, batch: subprocess.Popen) -> list[int]:
    """Waits until the batch has recorded a row; returns its child processes' pids."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and batch.poll() is None:
        if gradebook.exists():
            with open_gradebook(gradebook) as book:
                if book.attempts():
                    ps = subprocess.run(["ps", "-o", "pid=", "--ppid", str(batch.pid)], capture_output=True, text=True)
                    return [int(pid) for pid in ps.stdout.split()]
        time.sleep(0.05)
    batch.kill()
    pytest.fail(f"the batch recorded nothing in time: {batch.communicate()[0]}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def flaky_worker(name: str, data: bytes, student: str, settings: WorkerSettings) -> dict:
    """A worker that raises for one student and dies for another (a grader bug, an OOM kill)."""
    if student == "raises":
        raise RuntimeError("a bug in the grader")
    if student == "dies":
        os._exit(9)
    return grade_submission(name, data, student, settings)


def test_raising_and_dying_workers_cost_only_their_submission(tmp_path, zips, hw5):
    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("good1", "raises", "dies", "good2"):
        shutil.copyfile(zips["reference"], folder / f"{student}.zip")
    shutil.copyfile(zips["not_a_zip"], folder / "bad.zip")
    settings = WorkerSettings(hw5.id, RunOptions(seed=SEED, only=("Q1",), skip_groups=("overfit", "train"), run_notebook=False))
    with open_gradebook(tmp_path / "gb.sqlite") as book:
        report = plan_batch(folder, hw5, book, settings)
        run_batch(report, hw5, book, local_pool(2), worker=flaky_worker)
        rows = {a.student: a.status for a in book.attempts()}
    by_student = {o.entry.student: o for o in report.outcomes}
    assert {s: o.status for s, o in by_student.items()} == {
        "good1": "graded", "good2": "graded", "bad": "ungradable", "raises": "fault", "dies": "fault"}
    assert by_student["raises"].message == "RuntimeError: a bug in the grader"
    assert by_student["dies"].message.startswith(WorkerDied.__name__)
    assert rows == {"good1": "graded", "good2": "graded", "bad": "ungradable"}  # faults are retried next run
    text = summary_text(report)
    assert "internal faults 2" in text and "internal fault" in text and "dies.zip" in text


BLAS_PROBE = '''
import numpy  # noqa: F401 - the main module loads BLAS first, as benchmarks/bench_batch.py does

from autograder.course.batch import _worker_pool


def blas_threads():
    from threadpoolctl import threadpool_info
    return sorted({pool["num_threads"] for pool in threadpool_info()})


if __name__ == "__main__":
    with _worker_pool(1) as pool:
        print(pool.submit(blas_threads).result())
'''


def test_pool_workers_run_one_blas_thread_even_when_the_main_module_loaded_numpy(tmp_path):
    """A spawned worker re-imports the coordinator's main module before its initializer runs:
    with numpy imported there and BLAS at two threads, the worker's BLAS must still end at one."""
    script = tmp_path / "coordinator.py"
    script.write_text(BLAS_PROBE)
    repo = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
           "PYTHONPATH": os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p)}  # fmt: skip
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1]"
