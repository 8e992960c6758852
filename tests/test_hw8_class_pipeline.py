"""HW8 through the class pipeline on the command line: `grade batch` (a folder of <student id>.zip
files, two workers) into the gradebook, then `grade export` and `grade report` on what it holds.

Each student's total is known in advance: the reference earns every point of the graded
questions, the template none, and each planted bug loses exactly the question it lives in.
Fast questions only (Q1, Q2, Q3, Q5: 40 points), no training, no notebook.
"""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner
from grading_helpers import cli_args, make_zip, mutate, source

from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.course.gradebook import Policy, open_gradebook

HW8 = "hw8_cutmix_mixup"
AUGMENT = "intro2ai/augment.py"
LAYERS = "intro2ai/layers.py"
FAST = ["-a", HW8, "--no-training", "--no-notebook", "-q", "Q1", "-q", "Q2", "-q", "Q3", "-q", "Q5", "--seed", "8"]
TOTALS = {  # student -> (what was submitted, the total it deserves)
    "2026801": ("reference", 40.0),
    "2026802": ("template", 0.0),
    "2026803": ("one side length (W) for both axes of the box: Q1's 15 points lost", 25.0),
    "2026804": ("mixup_2_images weighting image_a by lam: Q5's 5 points lost", 35.0),
}


def run(*args):
    return CliRunner().invoke(main, cli_args(*args))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    hw8 = load_assignment(HW8)
    augment, layers = source(hw8.reference_dir, AUGMENT), source(hw8.reference_dir, LAYERS)
    submissions = {
        "2026801": {AUGMENT: augment, LAYERS: layers},
        "2026802": {rel: source(hw8.template_dir, rel) for rel in (AUGMENT, LAYERS)},
        "2026803": {AUGMENT: mutate(augment, "cut_w, cut_h = int(W * cut), int(H * cut)",
                                    "cut_w, cut_h = int(W * cut), int(W * cut)"), LAYERS: layers},
        "2026804": {AUGMENT: mutate(augment, "mixed_image = ((1 - lam) * image_a + lam * image_b)",
                                    "mixed_image = (lam * image_a + (1 - lam) * image_b)"), LAYERS: layers},
    }  # fmt: skip
    folder = tmp_path_factory.mktemp("class")
    for student, files in submissions.items():
        make_zip(folder / f"{student}.zip", files)
    book = folder.parent / "gradebook.sqlite"
    result = run("batch", folder, "-j", "2", "--gradebook", book, *FAST)
    assert result.exit_code == 0, result.output
    return hw8, book


def counted(hw8, book) -> dict[str, float]:
    return {s.student: s.score for s in open_gradebook(str(book)).counted_scores(hw8.id, Policy())}


def test_each_student_gets_the_total_the_code_deserves(graded):
    hw8, book = graded
    assert counted(hw8, book) == {student: total for student, (_, total) in TOTALS.items()}


def test_the_csv_export_reads_back_the_same_totals(graded, tmp_path):
    _, book = graded
    out = tmp_path / "hw8.csv"
    result = run("export", "--gradebook", book, "-a", HW8, "--format", "csv", "-o", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["student"]: float(r["total"]) for r in rows} == pytest.approx({s: t for s, (_, t) in TOTALS.items()})


def test_the_report_writes_a_page_per_student_naming_the_lost_question(graded, tmp_path):
    _, book = graded
    pages = tmp_path / "pages"
    result = run("report", "--gradebook", book, "-a", HW8, "-o", pages)
    assert result.exit_code == 0, result.output
    written = {p.stem: p.read_text(encoding="utf-8") for p in pages.glob("*.html") if p.name != "index.html"}
    assert len(written) == len(TOTALS)
    one_side = next(text for name, text in written.items() if "2026803" in name)
    assert "get_clip_box" in one_side and "must scale with" in one_side
