"""Staff commands on a small gradebook: export, manual, report, gradescope-bundle (run like Gradescope)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from grading_helpers import cli_args, make_zip, reference_files
from results_factory import at, make_result

from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.course.gradebook import open_gradebook
from autograder.grading.run import RunOptions, grade_zip
from autograder.reports.gradescope_bundle import submission_zip

HW = "hw5_cnn"
DUE = "2026-11-26T14:00+00:00"  # results_factory's at(1)
CANVAS_ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section
    Points Possible,,,,
"Kim, Minji",5001,2026001,minji,AI-01
"Lee, Jun",5002,2026002,junlee,AI-01
"Park, Seo",5003,2026003,seo,AI-02
"Real, One",5004,real01,real,AI-02
"Choi, Absent",5005,2026005,absent,AI-02
"""


@pytest.fixture(scope="module")
def hw5():
    return load_assignment(HW)


@pytest.fixture(scope="module")
def real_result(hw5, tmp_path_factory) -> dict:
    """One engine-made document: the reference graded on Q3 only."""
    folder = tmp_path_factory.mktemp("real")
    zip_path = make_zip(folder / "submit.zip", reference_files(hw5))
    return grade_zip(zip_path, hw5, RunOptions(seed=5, only=("Q3",), run_notebook=False)).to_json()


@pytest.fixture
def book(tmp_path, real_result) -> Path:
    """Five students: partial, late by a day, ungradable, after the cutoff, and one real grading."""
    path = tmp_path / "gradebook.sqlite"
    with open_gradebook(path) as gradebook:
        gradebook.record(make_result("2026001", passed={"Q1": 3}), "2026001", at(0))
        gradebook.record(make_result("junlee"), "junlee", at(2))
        gradebook.record(make_result("2026003", ungradable="no layers.py in the zip"), "2026003", at(0))
        gradebook.record(make_result("tardy"), "tardy", at(9))
        gradebook.record(real_result, "real01", at(0))
    return path


def run(*args: str):
    result = CliRunner().invoke(main, cli_args(*args))
    assert "Traceback" not in result.output, result.output
    return result


def refused(result, exit_code: int = 1) -> str:
    """A user error: the exit code and exactly one line of explanation."""
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _csv_rows(path: Path) -> dict[str, dict[str, str]]:
    return {row["student"]: row for row in csv.DictReader(path.open(newline="", encoding="utf-8"))}


# ------------------------------------------------------------------ export


def test_export_csv_applies_the_policy(book, tmp_path) -> None:
    out = tmp_path / "grades.csv"
    result = run("export", "--gradebook", book, "--format", "csv", "-o", out,
                 "--due", DUE, "--penalty-per-day", "0.1", "--cutoff", "2026-12-01T00:00+00:00")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: 5 row(s); 0 student(s) skipped; 0 with no grade; scale: none" in result.stdout
    rows = _csv_rows(out)
    assert set(rows) == {"2026001", "junlee", "2026003", "tardy", "real01"}
    assert (rows["junlee"]["days_late"], rows["junlee"]["total"]) == ("1", "90")  # 100 earned, one day late
    assert rows["2026003"]["status"] == "ungradable" and rows["2026003"]["total"] == "0"
    assert rows["tardy"]["status"] == "after_cutoff"
    assert rows["real01"]["Q3"] == "10" and rows["real01"]["Q1"] == ""


def test_export_canvas_with_roster_warns_on_stderr(book, tmp_path, hw5) -> None:
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS_ROSTER, encoding="utf-8")
    out = tmp_path / "canvas_import.csv"
    result = run("export", "--gradebook", book, "--format", "canvas", "--roster", roster, "--column-id", "4711", "-o", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert rows[0][-1] == f"{hw5.title} (4711)"
    scores = {row[2]: row[-1] for row in rows[2:]}
    assert scores["2026001"] != "" and scores["real01"] == "10"
    assert "2026005" not in scores  # no submission: no row, so Canvas keeps the grade it has
    assert "Choi, Absent (no submission)" in result.stdout and "1 student(s) skipped (tardy: " in result.stdout
    warnings = result.stderr
    assert "'tardy' has a grade but is not in the roster" in warnings  # a graded student missing from the roster
    assert "(Choi, Absent): no submission" in warnings  # a roster student without a grade
    assert "warning:" not in result.stdout


def test_export_moodle_blackboard_and_gradescope(book, tmp_path) -> None:
    moodle = tmp_path / "moodle.csv"
    assert run("export", "--gradebook", book, "--format", "moodle", "-o", moodle, "--title", "HW5").exit_code == 0
    header, *body = list(csv.reader(moodle.open(newline="", encoding="utf-8")))
    assert header == ["ID number", "HW5", "Feedback"] and len(body) == 5
    board = tmp_path / "board.xls"
    result = run("export", "--gradebook", book, "--format", "blackboard", "--column-id", "_12_1", "-o", board)
    assert result.exit_code == 0, result.output
    text = board.read_bytes()
    assert text.startswith(b"\xff\xfe")  # UTF-16 with BOM, tab-separated: Blackboard's own format
    rows = list(csv.reader(io.StringIO(text.decode("utf-16")), delimiter="\t"))
    assert rows[0][1].endswith("|_12_1") and len(rows) == 6
    folder = tmp_path / "gradescope"
    result = run("export", "--gradebook", book, "--format", "gradescope", "-o", folder, "--due", DUE,
                 "--penalty-per-day", "0.5")  # fmt: skip
    assert result.exit_code == 0, result.output
    documents = {p.name.split("-")[0]: json.loads(p.read_text()) for p in folder.glob("*.json")}
    assert set(documents) == {"2026001", "junlee", "2026003", "tardy", "real01"}
    assert documents["junlee"]["score"] == 50.0  # counted: one day late at 50 % a day
    assert any(t["visibility"] == "after_published" for t in documents["real01"]["tests"])


@pytest.mark.parametrize("args, exit_code, words", [
    (["--gradebook", "missing.sqlite"], 1, "no gradebook at missing.sqlite"),
    (["--due", "2026-11-26T14:00"], 2, "has no timezone"),
    (["--due", DUE, "--cutoff", "2026-11-20T00:00+00:00"], 1, "cutoff is before the due date"),
    (["--format", "canvas"], 2, "needs --roster"),
    (["-a", "hw9"], 2, "no assignment 'hw9'"),
])  # fmt: skip
def test_export_user_errors_are_one_line(book, tmp_path, monkeypatch, args, exit_code, words) -> None:
    monkeypatch.chdir(tmp_path)
    base = {"--gradebook": str(book), "--format": "csv"}
    for key in list(base):
        if key in args:
            del base[key]
    result = run("export", *[x for kv in base.items() for x in kv], "-o", tmp_path / "out.csv", *args)
    if exit_code == 2:  # click's usage errors carry a usage line and a hint first
        assert result.exit_code == 2 and words in result.stderr, result.output
    else:
        assert words in refused(result, exit_code)
    assert not (tmp_path / "out.csv").exists()


def test_export_bad_roster_or_gradebook_file_is_one_line(book, tmp_path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("Name,Mail\nx,y\n", encoding="utf-8")
    result = run("export", "--gradebook", book, "--format", "canvas", "--roster", roster, "--column-id", "1",
                 "-o", tmp_path / "o.csv")  # fmt: skip
    assert "roster lacks column(s) Student or LastName, ID, SIS Login ID, Section; give the file" in refused(result)
    not_a_db = tmp_path / "notes.sqlite"
    not_a_db.write_text("not a database\n" * 100, encoding="utf-8")
    result = run("export", "--gradebook", not_a_db, "--format", "csv", "-o", tmp_path / "o.csv")
    assert refused(result).startswith(f"Error: cannot use the gradebook {not_a_db}:")


def test_export_scale_to_is_in_the_file_name_and_the_summary(book, tmp_path) -> None:
    roster = tmp_path / "moodle_roster.csv"
    roster.write_text("First name,Last name,ID number,Email address\nJun,Lee,junlee,jun@u\nR,One,real01,r@u\n",
                      encoding="utf-8")  # fmt: skip
    result = run("export", "--gradebook", book, "--format", "moodle", "--roster", roster, "--scale-to", "50",
                 "--title", "HW5", "-o", tmp_path / "moodle.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    written = tmp_path / "moodle.scaled-to-50.csv"
    assert {r["ID number"]: r["HW5"] for r in csv.DictReader(written.open(encoding="utf-8"))} == {"junlee": "47.619", "real01": "4.5455"}  # 100/105 and 10/110
    assert f"wrote {written}: 2 row(s); 3 student(s) skipped" in result.stdout
    assert "2026001: not in the roster (Moodle would refuse the file)" in result.stdout
    assert result.stdout.strip().endswith("scale: scaled to 50 points")


def test_export_refusals_for_moodle_are_one_line(tmp_path) -> None:
    book = tmp_path / "top.sqlite"
    with open_gradebook(book) as gradebook:
        gradebook.record(make_result("top"), "top", at(0))
        gradebook.set_manual("top", HW, "written_answers", 5.0, "", "ta")  # 105 of 105
    out = tmp_path / "moodle.csv"
    line = refused(run("export", "--gradebook", book, "--format", "moodle", "-o", out))
    assert "grades up to 105 are above 100" in line and "--scale-to 100" in line and not out.exists()
    line = refused(run("export", "--gradebook", book, "--format", "moodle", "--identifier", "participant", "-o", out))
    assert "no graded student is recorded by a Moodle participant id" in line and not out.exists()
    result = run("export", "--gradebook", book, "--format", "csv", "--scale-to", "100", "-o", out)
    assert result.exit_code == 2 and "--scale-to applies to canvas, moodle, blackboard, not csv" in result.stderr


# ------------------------------------------------------------------ manual grades


def test_manual_import_then_export_shows_it(book, tmp_path) -> None:
    grades = tmp_path / "ta.csv"
    grades.write_text("student,item,score,comment\nreal01,filter_visualisation,4,clear filters\n"
                      "junlee,Q3,8,partial credit after review\n", encoding="utf-8")  # fmt: skip
    result = run("manual", grades, "--gradebook", book, "--grader", "ta-kim")
    assert result.exit_code == 0, result.output
    assert f"imported 2 manual grade(s) from {grades} (grader ta-kim)" in result.stdout
    out = tmp_path / "grades.csv"
    assert run("export", "--gradebook", book, "--format", "csv", "-o", out).exit_code == 0
    rows = _csv_rows(out)
    assert rows["real01"]["filter_visualisation"] == "4" and rows["real01"]["total"] == "14"
    assert rows["junlee"]["Q3"] == "8" and rows["junlee"]["total"] == "98"  # the TA's score replaces the engine's 10


def test_manual_import_is_all_or_nothing(book, tmp_path) -> None:
    grades = tmp_path / "ta.csv"
    grades.write_text("student,item,score\n2026001,filter_visualisation,4\nnobody,filter_visualisation,3\n"
                      "junlee,filter_visualisation,99\n", encoding="utf-8")  # fmt: skip
    result = run("manual", grades, "--gradebook", book, "--grader", "ta-kim")
    assert result.exit_code == 1
    assert "line 3: unknown student 'nobody'" in result.stderr and "line 4: score 99" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"Error: nothing imported: 2 problem(s) in {grades}"
    with open_gradebook(book) as gradebook:
        assert gradebook.manual_grades(HW) == []


def test_manual_not_utf8_is_one_line(book, tmp_path) -> None:
    grades = tmp_path / "ta.csv"
    grades.write_bytes("student,item,score\n김민지,Q1,3\n".encode("euc-kr"))
    assert "not a readable UTF-8 CSV" in refused(run("manual", grades, "--gradebook", book, "--grader", "ta"))


# ------------------------------------------------------------------ pages


def test_report_writes_feedback_pages_and_the_class_summary(book, tmp_path) -> None:
    out = tmp_path / "pages"
    result = run("report", "--gradebook", book, "-o", out, "--cutoff", "2026-12-01T00:00+00:00")
    assert result.exit_code == 0, result.output
    pages = sorted(p.name for p in out.glob("*.html") if p.name != "index.html")
    assert [p.split("-")[0] for p in pages] == ["2026001", "2026003", "junlee", "real01"]
    assert "student 'tardy': no attempt counts (after_cutoff); no page" in result.stderr
    summary = (out / "index.html").read_text(encoding="utf-8")
    assert "max_pool_forward_naive" in summary and "no layers.py in the zip" in summary
    assert "wrote 4 feedback page(s)" in result.stdout


def test_report_keeps_hidden_inputs_until_published(book, tmp_path) -> None:
    """HW5 declares hidden_inputs = "after_published": only `--published` shows them."""
    before, after = tmp_path / "before", tmp_path / "after"
    result = run("report", "--gradebook", book, "-o", before)
    assert "Inputs of hidden cases are not shown; they will be shown once grades are published." in result.stdout
    assert run("report", "--gradebook", book, "-o", after, "--published").exit_code == 0
    [page_before] = before.glob("junlee-*.html")
    [page_after] = after.glob("junlee-*.html")
    assert "90210" not in page_before.read_text(encoding="utf-8") and "seed withheld" in page_before.read_text(encoding="utf-8")
    assert "&#34;seed&#34;: 90210" in page_after.read_text(encoding="utf-8")


def test_terminal_student_view_withholds_the_seed(hw5) -> None:
    from autograder.grading.result import Result
    from autograder.reports.terminal import render_result

    doc = make_result("s1")
    assert "seed 1234" in render_result(Result.from_json(doc), colour=False)
    student = render_result(Result.from_json(doc), colour=False, shown=hw5.visibility.shown())
    assert "seed 1234" not in student and "seed withheld" in student and "once grades are published" in student


# ------------------------------------------------------------------ Gradescope


def test_gradescope_bundle_grades_like_gradescope(hw5, tmp_path) -> None:
    bundle = tmp_path / "autograder.zip"
    result = run("gradescope-bundle", "-o", bundle, "--no-training", "-q", "Q3", "--no-notebook")
    assert result.exit_code == 0, result.output
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        archive.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "requirements.txt", "bundle.json"} <= set(names)
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert "grader/reference/intro2ai/layers.py" in names and "grader/assignments/hw5_cnn/checks.py" in names
    assert not [n for n in names if n.startswith("grader/tests/") or "/.git/" in n or "__pycache__" in n]
    assert "apt-get install" in (root / "source" / "setup.sh").read_text() and "numpy" in (root / "source" / "requirements.txt").read_text()
    submission = root / "submission" / "my-work" / "intro2ai"
    for rel, text in reference_files(hw5).items():
        (submission.parent / rel).parent.mkdir(parents=True, exist_ok=True)
        (submission.parent / rel).write_text(text, encoding="utf-8")
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"sid": "2026077", "email": "s@u"}]}))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root)}
    run_log = subprocess.run([sys.executable, str(root / "source" / "run_autograder")], env=env, cwd=root,
                             capture_output=True, text=True, timeout=180)  # fmt: skip
    assert run_log.returncode == 0, run_log.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 10.0
    tests = results["tests"]
    assert [t["number"] for t in tests] == [f"Q3.{i}" for i in range(1, len(tests) + 1)] and len(tests) == 6
    assert all(t["status"] == "passed" for t in tests)
    assert sum(t["visibility"] == "after_published" for t in tests) == 5  # hidden until grades are published


def test_gradescope_upload_shapes(tmp_path) -> None:
    """A lone uploaded zip is graded as is; loose files are zipped with their folders."""
    lone = tmp_path / "one"
    lone.mkdir()
    make_zip(lone / "submit.zip", {"layers.py": "x = 1\n"})
    assert submission_zip(lone, tmp_path) == lone / "submit.zip"
    loose = tmp_path / "loose"
    (loose / "intro2ai").mkdir(parents=True)
    (loose / "intro2ai" / "layers.py").write_text("x = 1\n")
    (loose / "HW5.ipynb").write_text("{}")
    with zipfile.ZipFile(submission_zip(loose, tmp_path)) as archive:
        assert sorted(archive.namelist()) == ["HW5.ipynb", "intro2ai/layers.py"]


def test_run_autograder_always_writes_results(tmp_path) -> None:
    """Even when the grader cannot start (here: no bundle.json), Gradescope gets a results.json: the
    staff message and no score (a grader fault is never the student's grade)."""
    from autograder.reports.gradescope_bundle import FAULT_OUTPUT, run_autograder

    (tmp_path / "submission").mkdir()
    assert run_autograder(tmp_path) == 1
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results == {"output": FAULT_OUTPUT, "tests": []}
