"""The engine's layout reads as the flow: each module belongs to one step, says so in the first line
of its docstring, and imports nothing from a later step (nothing imports back up the flow)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "autograder"

# In flow order. A step may use the steps before it: `grade check` (student) reuses the grading
# step's verdicts, `grade generate` (authoring) the student step's public expectations, and so on.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Declaration", ("autograder.assignment", "autograder.validation", "autograder.archive", "autograder.config")),
    ("Sandbox", ("autograder.sandbox",)),
    ("Grading", ("autograder.grading",)),
    ("Student", ("autograder.student",)),
    ("Authoring", ("autograder.authoring",)),
    ("Course", ("autograder.course",)),
    ("Reports", ("autograder.reports",)),
    ("Command line", ("autograder.cli", "autograder.doctor", "autograder.__main__", "autograder")),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def step_of(module: str) -> int:
    """The index of the step owning `module` (the longest matching prefix)."""
    matches = [(len(prefix), index) for index, (_, prefixes) in enumerate(STEPS) for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]  # fmt: skip
    assert matches, f"{module} belongs to no step: add it to STEPS"
    return max(matches)[1]


def imported(path: Path) -> set[str]:
    """Every autograder module `path` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{a.name}" if node.module == "autograder" else node.module for a in node.names)
    return {n for n in names if n == "autograder" or n.startswith("autograder.")}


MODULES = sorted(ENGINE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_a_later_step(path):
    own = step_of(module_name(path))
    later = sorted(name for name in imported(path) if step_of(name) > own)
    assert not later, f"{module_name(path)} ({STEPS[own][0]}) imports from later steps: {later}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_each_module_says_its_step_first(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{module_name(path)} has no docstring"
    step = STEPS[step_of(module_name(path))][0]
    assert docstring.splitlines()[0].startswith(f"{step} step"), (module_name(path), docstring.splitlines()[0])


def test_the_step_table_catches_a_backward_import():
    """The check itself can fail: a grading module importing the gradebook is flagged."""
    assert step_of("autograder.course.gradebook") > step_of("autograder.grading.run")
    assert step_of("autograder.reports.lti.publish") == step_of("autograder.reports.html")


def test_the_declared_builtin_judges_are_the_engine_s():
    from autograder.assignment import BUILTIN_JUDGE_NAMES
    from autograder.grading.judge import BUILTIN_JUDGES

    assert set(BUILTIN_JUDGE_NAMES) == set(BUILTIN_JUDGES)


def test_the_cli_offers_exactly_the_registered_exports():
    from autograder.cli import export_command
    from autograder.reports.exports import EXPORTERS

    (fmt,) = [p for p in export_command.params if p.name == "fmt"]
    assert list(fmt.type.choices) == list(EXPORTERS)
