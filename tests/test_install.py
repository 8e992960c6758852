"""The grader runs from any install, the way a new user installs it: this checkout pip-installed
(editable) into a virtualenv under /tmp, whose `grade` command then grades the reference solution.

Affordable: everything but the training group (`--no-training`; a 1-epoch run takes minutes
here), the notebook included. pip installs offline: `--no-deps --no-build-isolation --no-index`
on a virtualenv that reuses this interpreter's site-packages (numpy, setuptools, wheel).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.assignment import load_assignment
from autograder.sandbox.command import bwrap_path
from autograder.student.pack import pack

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap cannot create namespaces here")
def test_virtualenv_under_tmp_grades_the_reference_with_full_marks(tmp_path):
    hw5 = load_assignment("hw5_cnn")
    with tempfile.TemporaryDirectory(prefix="grade-venv-", dir="/tmp") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
        install = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
             "--no-index", "-e", str(REPO)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert install.returncode == 0, install.stderr
        zip_path = pack(hw5, hw5.reference_dir, tmp_path / "reference.zip", unrun_notebook=True).path
        run = subprocess.run([str(venv / "bin" / "grade"), str(zip_path), "--no-training", "--json",
                              str(tmp_path / "result.json")], cwd=tmp_path, capture_output=True, text=True,
                             timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "graded" and result["sandbox"]["kind"] == "bwrap"
    training = sum(c.points for q in hw5.questions for c in q.cases if c.group == "train")
    assert result["score"] == pytest.approx(hw5.max_score - training)
    assert all(q["status"] == "passed" for q in result["questions"]), [q["message"] for q in result["questions"]]
    assert result["notebook"]["status"] == "passed", result["notebook"]["message"]
