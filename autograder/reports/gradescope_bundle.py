"""Reports step: Gradescope packaging: builds `autograder.zip` and is what its `run_autograder` calls.

Gradescope unpacks the zip into /autograder/source, runs `setup.sh` once (as root) when it builds
the image, then `run_autograder` for every submission. The zip holds:

    setup.sh          apt: bubblewrap, python3, pip; pip: requirements.txt
    requirements.txt  this package's dependencies (from pyproject.toml)
    run_autograder    a thin Python script: puts grader/ on sys.path, calls `run_autograder(root)`
    bundle.json       the grading options chosen when the bundle was built
    grader/           a copy of autograder/, assignments/, reference/, student_template/,
                      pyproject.toml and README.md (no tests, .git or build products)

A source copy rather than `pip install .`: the grader finds assignments/, reference/ and
student_template/ next to its package, which a wheel does not carry, so pip installs only the
dependencies. setup.sh leaves /autograder/source readable by root alone: without bubblewrap,
student code runs under an unprivileged uid and so cannot read the reference solution.
`AUTOGRADER_ROOT` relocates /autograder (the tests run the bundle in a temporary folder).

Every run starts with the sandbox preflight. A grader fault (failed preflight, a sandbox that
cannot start, an exception) writes a results.json with the staff message and no score at all
(Gradescope then shows the run as failed rather than a 0) and exits 1; staff fix and regrade.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tempfile
import traceback
from dataclasses import replace
from pathlib import Path

from autograder.archive import write_zip
from autograder.assignment import REPO_ROOT, load_assignment, tomllib
from autograder.grading.options import RunOptions

CONFIG = "bundle.json"
GRADER_DIR = "grader"
TREE = ("autograder", "assignments", "reference", "student_template", "pyproject.toml", "README.md")
SKIP = ("__pycache__", "*.pyc", "*.so", "*.c", "*.egg-info", "build", ".ipynb_checkpoints", ".pytest_cache",
        "public_expected.npz")  # fmt: skip  (the last is for `grade check` only)
FAULT_OUTPUT = ("The autograder itself failed while grading this submission; this is not your fault. "
                "Please tell the course staff, who can see the log and will regrade it.")  # fmt: skip

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu base image).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive PIP_BREAK_SYSTEM_PACKAGES=1
apt-get update -qq
apt-get install -y -qq --no-install-recommends bubblewrap python3 python3-pip
python3 -m pip install --no-cache-dir -r /autograder/source/requirements.txt
# Root only: student code that runs without bubblewrap runs under another uid and must not read
# the reference solution.
chmod -R go-rwx /autograder/source
"""

RUN_AUTOGRADER = '''#!/usr/bin/env python3
"""Gradescope entry point (made by `grade gradescope-bundle`): grades /autograder/submission."""
import os
import sys
from pathlib import Path

ROOT = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
sys.path.insert(0, str(ROOT / "source" / "grader"))

from autograder.reports.gradescope_bundle import run_autograder  # noqa: E402

sys.exit(run_autograder(ROOT))
'''


def build_bundle(out: Path, assignment: str, options: RunOptions, repo: Path = REPO_ROOT) -> Path:
    """Writes autograder.zip (same bytes for the same tree and options): every submission on
    Gradescope is graded with the `options` chosen here (the CLI's RunOptions, shipped as JSON)."""
    entries: dict[str, tuple[bytes, int]] = {
        "setup.sh": (SETUP_SH.encode(), 0o755),
        "run_autograder": (RUN_AUTOGRADER.encode(), 0o755),
        "requirements.txt": (_requirements(repo).encode(), 0o644),
        CONFIG: (json.dumps({"assignment": assignment, "options": options.to_json()}, indent=2).encode(), 0o644),
    }
    for path in _tree_files(repo):
        entries[f"{GRADER_DIR}/{path.relative_to(repo).as_posix()}"] = (path.read_bytes(), 0o644)
    return write_zip(out, entries)


def _tree_files(repo: Path) -> list[Path]:
    files = []
    for top in TREE:
        root = repo / top
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            parts = path.relative_to(repo).parts
            if not any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in SKIP):
                files.append(path)
    return files


def _requirements(repo: Path) -> str:
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return "\n".join(project["dependencies"]) + "\n"


# ------------------------------------------------------------------ on Gradescope


def run_autograder(root: Path) -> int:
    """Grades the submission in root/submission; writes root/results/results.json in every case."""
    from autograder.grading.run import grade_zip
    from autograder.reports.gradescope import write_gradescope
    from autograder.reports.terminal import render_result
    from autograder.sandbox.preflight import preflight

    results = root / "results" / "results.json"
    try:
        config = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))
        assignment = load_assignment(config["assignment"])
        options = replace(RunOptions.from_json(config["options"]), student=_student(root))
        preflight(assignment.limits, options.allow_weaker_isolation)
        with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
            result = grade_zip(submission_zip(root / "submission", Path(tmp)), assignment, options)
        print(render_result(result, colour=False))  # the run log staff see
        if result.status == "error":
            print(result.fault.traceback if result.fault else "")
            return _fault(results)
    except Exception:  # noqa: BLE001 - Gradescope must get a results.json whatever happens
        traceback.print_exc()
        return _fault(results)
    write_gradescope(results, result, assignment.visibility)
    return 0


def _fault(results: Path) -> int:
    """The staff message and no score: a grader fault is never the student's grade."""
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps({"output": FAULT_OUTPUT, "tests": []}), encoding="utf-8")
    return 1


def submission_zip(folder: Path, tmp: Path) -> Path:
    """The student's upload as one zip: a lone uploaded zip as is, else the folder's files zipped."""
    files = []
    for directory, _, names in os.walk(folder):  # symlinks to folders are not followed
        files += [Path(directory) / n for n in names if (Path(directory) / n).is_file()
                  and not (Path(directory) / n).is_symlink()]  # fmt: skip
    if len(files) == 1 and files[0].suffix.lower() == ".zip":
        return files[0]
    return write_zip(tmp / "submission.zip", {p.relative_to(folder).as_posix(): p.read_bytes() for p in files})


def _student(root: Path) -> str | None:
    """The submitter from Gradescope's submission_metadata.json (student id, else email)."""
    try:
        users = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8")).get("users") or []
    except (OSError, ValueError):
        return None
    first = users[0] if users and isinstance(users[0], dict) else {}
    return str(first.get("sid") or first.get("email") or "") or None

