"""The engine hosts a homework it has never seen: tests/tiny_course (two questions, its own package,
reference and generated template) graded end to end as data, through the CLI as staff use it: one
zip, a self-check, a class batch, exports and pages. Nothing in autograder/ names it."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from grading_helpers import make_zip, mutate

from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.grading.run import RunOptions, grade_zip
from autograder.student.pack import pack

COURSE = Path(__file__).resolve().parent / "tiny_course"
ROOT = COURSE / "assignments" / "tiny_ops"
OPS = "tinyops/ops.py"
UNNORMALISED = ("    probs = exp / np.sum(exp, axis=1, keepdims=True)\n", "    probs = exp / np.sum(exp)\n")


@pytest.fixture(scope="module")
def tiny():
    return load_assignment(ROOT)


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def ops_zip(path: Path, tiny, text: str | None = None) -> Path:
    return make_zip(path, {OPS: text if text is not None else (tiny.reference_dir / OPS).read_text()})


def test_the_engine_names_nothing_of_it():
    engine = Path(__file__).resolve().parents[1] / "autograder"
    for path in engine.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "tinyops" not in text and "tiny_ops" not in text, path


def test_reference_full_marks_template_zero_bug_costs_its_question(tmp_path, tiny):
    options = RunOptions(seed=3, run_notebook=False)
    reference = grade_zip(pack(tiny, tiny.reference_dir, tmp_path / "ref.zip").path, tiny, options).to_json()
    assert reference["status"] == "graded" and reference["score"] == reference["max_score"] == 10
    assert [q["status"] for q in reference["questions"]] == ["passed", "passed"]
    assert sum(c["hidden"] for c in reference["questions"][1]["cases"]) == 2

    template = grade_zip(ops_zip(tmp_path / "t.zip", tiny, (tiny.template_dir / OPS).read_text()), tiny, options).to_json()
    assert template["score"] == 0 and {q["status"] for q in template["questions"]} == {"not_implemented"}

    buggy = mutate((tiny.reference_dir / OPS).read_text(), *UNNORMALISED)
    result = grade_zip(ops_zip(tmp_path / "b.zip", tiny, buggy), tiny, options).to_json()
    q1, q2 = result["questions"]
    assert q1["status"] == "passed" and q1["score"] == 4
    assert q2["status"] == "failed" and q2["score"] == 0 and "rows do not sum to 1" in q2["message"]


def test_a_shape_error_gets_the_assignment_s_own_hint(tmp_path, tiny):
    wrong = mutate((tiny.reference_dir / OPS).read_text(), "    out = scale * np.sum(x, axis=axis)\n",
                   "    out = scale * np.sum(x, axis=axis).reshape(5, 5)\n")  # fmt: skip
    result = grade_zip(ops_zip(tmp_path / "s.zip", tiny, wrong), tiny, RunOptions(seed=1, run_notebook=False)).to_json()
    q1 = result["questions"][0]
    assert q1["status"] == "error" and "Array shapes do not match: scaled_sum drops the summed axis" in q1["message"]


def test_cli_validate_zip_and_self_check(tmp_path, tiny):
    assert run("validate", "-a", ROOT).exit_code == 0
    out = tmp_path / "result.json"
    graded = run(ops_zip(tmp_path / "submit.zip", tiny), "-a", ROOT, "--seed", "4", "--json", out)
    assert graded.exit_code == 0, graded.output
    assert json.loads(out.read_text())["score"] == 10 and "Q2 softmax" in graded.output

    working = tmp_path / "working"
    shutil.copytree(tiny.template_dir, working)
    shutil.copyfile(tiny.reference_dir / OPS, working / OPS)
    checked = run("check", working, "-a", ROOT)
    assert checked.exit_code == 0, checked.output
    assert "Total: 4 of 4 public cases passed here." in checked.output


def test_class_batch_exports_and_pages(tmp_path, tiny):
    folder = tmp_path / "class"
    folder.mkdir()
    ops_zip(folder / "s1.zip", tiny)
    ops_zip(folder / "s2.zip", tiny, mutate((tiny.reference_dir / OPS).read_text(), *UNNORMALISED))
    book = tmp_path / "gb.sqlite"
    batch = run("batch", folder, "-a", ROOT, "-j", "1", "--seed", "9", "--gradebook", book, "--no-notebook")
    assert batch.exit_code == 0, batch.output
    assert "graded 2" in batch.output

    table = tmp_path / "grades.csv"
    exported = run("export", "--format", "csv", "-o", table, "-a", ROOT, "--gradebook", book)
    assert exported.exit_code == 0, exported.output
    rows = {row["student"]: row for row in csv.DictReader(table.open(encoding="utf-8"))}
    assert set(rows) == {"s1", "s2"}
    assert float(rows["s1"]["Q2"]) == 6 and float(rows["s2"]["Q2"]) == 0 and float(rows["s2"]["Q1"]) == 4

    pages = tmp_path / "pages"
    assert run("report", "--gradebook", book, "-a", ROOT, "-o", pages).exit_code == 0
    page = next(pages.glob("s2-*.html")).read_text(encoding="utf-8")
    assert "Q2 · softmax" in page and "rows do not sum to 1" in page
    gradescope = tmp_path / "gradescope"
    assert run("export", "--format", "gradescope", "-o", gradescope, "-a", ROOT, "--gradebook", book).exit_code == 0
    assert len(list(gradescope.glob("*.json"))) == 2
