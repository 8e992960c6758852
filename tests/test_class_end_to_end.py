"""A whole class through the command line: 30 generated submissions graded in parallel into the
gradebook, every LMS export parsed back to the same scores, a re-run that grades nothing again,
and the pages written. Fast questions only (Q1, Q3), so the module stays well under a minute."""

from __future__ import annotations

import csv
import io
import json

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
from autograder.course.gradebook import Policy, open_gradebook

FAST = ["--no-training", "--no-notebook", "-q", "Q1", "-q", "Q3", "--seed", "21"]
STUDENTS = [f"2026{n:03d}" for n in range(30)]


def run(*args):
    return CliRunner().invoke(main, cli_args(*args))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """30 zips (reference, template and two bugs, in turn) graded by one `grade batch` command."""
    hw5 = load_assignment("hw5_cnn")
    layers = source(hw5.reference_dir, LAYERS)
    variants = {
        "reference": reference_files(hw5),
        "template": {rel: source(hw5.template_dir, rel) for rel in (LAYERS, CNN)},
        "no_stride": reference_files(hw5, layers=replace_function(layers, "conv_forward_naive", CONV_FORWARD_IGNORES_STRIDE)),
        "mean_pool": reference_files(hw5, layers=mutate(layers, "out[:, :, i, j] = window.max(axis=(2, 3))",
                                                        "out[:, :, i, j] = window.mean(axis=(2, 3))")),
    }  # fmt: skip
    folder = tmp_path_factory.mktemp("class")
    kinds = {}
    for n, student in enumerate(STUDENTS):
        kind = list(variants)[n % len(variants)]
        make_zip(folder / f"{student}.zip", variants[kind])
        kinds[student] = kind
    book = folder.parent / "gradebook.sqlite"
    first = run("batch", folder, "-j", "2", "--gradebook", book, *FAST)
    assert first.exit_code == 0, first.output
    return hw5, folder, book, kinds, first.output


def same(parsed: dict[str, float], truth: dict[str, float]) -> bool:
    """Exports write points to 4 decimals (16.6667 for 50/3): equal at that precision."""
    return parsed.keys() == truth.keys() and all(parsed[k] == pytest.approx(truth[k], abs=5e-5) for k in truth)


def counted(hw5, book) -> dict[str, float]:
    return {s.student: s.score for s in open_gradebook(str(book)).counted_scores(hw5.id, Policy())}


def test_every_submission_has_one_row_with_the_score_its_code_deserves(graded):
    hw5, _, book, kinds, _ = graded
    scores = counted(hw5, book)
    assert set(scores) == set(STUDENTS)
    by_kind = {kind: {scores[s] for s in STUDENTS if kinds[s] == kind} for kind in set(kinds.values())}
    assert by_kind["reference"] == {25.0}  # Q1 15 + Q3 10
    assert by_kind["template"] == {0.0}
    assert all(len(v) == 1 for v in by_kind.values())  # same code, same seed: same score
    assert 0 < by_kind["no_stride"].pop() < 25 and 0 < by_kind["mean_pool"].pop() < 25


def test_rerun_grades_nothing_again(graded):
    hw5, folder, book, _, _ = graded
    before = counted(hw5, book)
    again = run("batch", folder, "-j", "2", "--gradebook", book, *FAST)
    assert again.exit_code == 0, again.output
    assert "graded 0, ungradable 0, internal faults 0, skipped as already graded 30" in again.output, again.output
    assert counted(hw5, book) == before
    assert len(open_gradebook(str(book)).attempts(hw5.id)) == 30


def test_each_export_parses_back_to_the_gradebook_scores(graded, tmp_path):
    hw5, _, book, _, _ = graded
    truth = counted(hw5, book)

    plain = tmp_path / "plain.csv"
    assert run("export", "--gradebook", book, "--format", "csv", "-o", plain).exit_code == 0
    rows = list(csv.DictReader(plain.open(encoding="utf-8")))
    assert same({r["student"]: float(r["total"]) for r in rows}, truth)

    roster = tmp_path / "roster.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n" + "".join(
        f"Student {s},{9000 + n},{s},{s.lower()},A\n" for n, s in enumerate(STUDENTS)), encoding="utf-8")  # fmt: skip
    canvas = tmp_path / "canvas.csv"
    result = run("export", "--gradebook", book, "--format", "canvas", "--roster", roster, "--column-id", "77", "-o", canvas)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(canvas.open(newline="", encoding="utf-8")))
    assert rows[0][-1].endswith("(77)") and rows[1][0].strip() == "Points Possible"
    assert same({r[2]: float(r[-1]) for r in rows[2:]}, truth)

    moodle = tmp_path / "moodle.csv"
    assert run("export", "--gradebook", book, "--format", "moodle", "-o", moodle, "--title", "HW5").exit_code == 0
    rows = list(csv.DictReader(moodle.open(newline="", encoding="utf-8")))
    assert same({r["ID number"]: float(r["HW5"]) for r in rows}, truth)

    worksheet = tmp_path / "worksheet.csv"  # ids from a Moodle bulk download are participant ids
    assert run("export", "--gradebook", book, "--format", "moodle", "--identifier", "participant", "-o", worksheet).exit_code == 0
    rows = list(csv.DictReader(worksheet.open(newline="", encoding="utf-8")))
    assert {"Identifier", "Grade", "Last modified (grade)", "Feedback comments"} <= set(rows[0])
    assert same({r["Identifier"].removeprefix("Participant "): float(r["Grade"]) for r in rows}, truth)

    board = tmp_path / "board.xls"
    assert run("export", "--gradebook", book, "--format", "blackboard", "--column-id", "_9_1", "-o", board).exit_code == 0
    rows = list(csv.reader(io.StringIO(board.read_bytes().decode("utf-16")), delimiter="\t"))
    assert same({r[0]: float(r[1]) for r in rows[1:]}, truth)

    folder = tmp_path / "gradescope"
    assert run("export", "--gradebook", book, "--format", "gradescope", "-o", folder).exit_code == 0
    documents = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    assert sorted(d["score"] for d in documents) == pytest.approx(sorted(truth.values()), abs=5e-5)


def test_pages_render_for_every_student(graded, tmp_path):
    _, _, book, _, _ = graded
    pages = tmp_path / "pages"
    assert run("report", "--gradebook", book, "-o", pages).exit_code == 0
    summary = (pages / "index.html").read_text(encoding="utf-8")
    assert "30" in summary
    written = [p.read_text(encoding="utf-8") for p in pages.glob("*.html") if p.name != "index.html"]
    assert len(written) == 30 and all("conv_forward_naive" in page for page in written)
