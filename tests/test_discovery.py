"""Assignments are discovered, never defaulted to HW5: a packed zip names its assignment, a zip
without a manifest is refused in one line when several are discovered, and a typo in a declaration
is named (file and key) when it loads, before any student is graded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from grading_helpers import make_zip, reference_files

from autograder.assignment import (
    AssignmentError,
    available_assignments,
    default_assignment,
    load_assignment,
)
from autograder.cli import main
from autograder.grading.intake import manifest_assignment
from autograder.student.pack import pack
from autograder.validation import problems

TINY_COURSE = Path(__file__).resolve().parent / "tiny_course"


def test_several_assignments_are_discovered_and_none_is_the_default():
    assert {"hw5_cnn", "hw8_cutmix_mixup"} <= set(available_assignments())
    assert default_assignment() is None
    assert default_assignment(TINY_COURSE / "assignments") == "tiny_ops"


def test_a_packed_zip_is_graded_as_its_manifest_says(tmp_path):
    hw5 = load_assignment("hw5_cnn")
    packed = pack(hw5, hw5.reference_dir, tmp_path / "submit.zip", unrun_notebook=True).path
    assert manifest_assignment(packed) == "hw5_cnn"
    run = CliRunner().invoke(main, [str(packed), "-q", "Q3", "--seed", "1", "--no-notebook"])
    assert run.exit_code == 0, run.output
    assert "hw5_cnn" in run.output and "10/10" in run.output


def test_a_zip_without_manifest_is_refused_in_one_line(tmp_path):
    bare = make_zip(tmp_path / "submit.zip", reference_files(load_assignment("hw5_cnn")))
    assert manifest_assignment(bare) is None
    run = CliRunner().invoke(main, [str(bare), "-q", "Q3"])
    assert run.exit_code == 1
    assert run.output.strip().splitlines() == ["Error: several assignments "
                                               f"({', '.join(available_assignments())}): name one with -a/--assignment"]


@pytest.mark.parametrize("old, new, named", [
    ('probe = "score_inputs"', 'probe = "score_inptus"', "probe = 'score_inptus': no score_inptus in checks.py"),
    ('judge = "probabilities"', 'judge = "probabilites"', "judge = 'probabilites' is neither a built-in judge"),
    ('task = "softmax"', 'task = "soft_max"', "task = 'soft_max': no soft_max in driver.py"),
    ('needs = ["ops.py"]\ntask = "softmax"', 'needs = ["opz.py"]\ntask = "softmax"', "needs = 'opz.py' names no [[files]] entry"),
])  # fmt: skip
def test_a_typo_is_named_at_load_with_file_and_key(tmp_path, old, new, named):
    course = tmp_path / "course"
    shutil.copytree(TINY_COURSE, course)
    toml = course / "assignments" / "tiny_ops" / "assignment.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(AssignmentError) as caught:
        load_assignment(toml.parent)
    line = str(caught.value)
    assert line.startswith(f"{toml}: [[questions]] Q2") and named in line and "\n" not in line
    found = problems(load_assignment(toml.parent, validate=False))
    assert line.startswith(found[0]) and all(named in problem for problem in found)
    run = CliRunner().invoke(main, ["validate", "-a", str(toml.parent)])
    assert run.exit_code == 1 and named in run.output
