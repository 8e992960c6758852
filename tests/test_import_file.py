"""autograder.assignment.import_file, the one loader of checks.py, driver.py and benchmark files:
imported once per process, and a file that fails to import is not left half-initialised."""

from __future__ import annotations

import sys

import pytest

from autograder.assignment import import_file


def test_a_file_is_imported_once_and_a_failed_import_is_retried(tmp_path):
    path = tmp_path / "flaky.py"
    path.write_text("raise RuntimeError('not yet')\n")
    name = "_test_import_file_flaky"
    with pytest.raises(RuntimeError, match="not yet"):
        import_file(name, path)
    assert name not in sys.modules  # no half-initialised module for the next caller
    path.write_text("from dataclasses import dataclass\n\n@dataclass\nclass Row:\n    seed: int\n")
    try:
        module = import_file(name, path)
        assert module.Row(3).seed == 3  # a dataclass finds its module: it is registered while it runs
        assert import_file(name, path) is module
    finally:
        sys.modules.pop(name, None)
