"""Shared test set-up: the reference package on sys.path, and where the real CIFAR-10 data is."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "reference"))
PACKAGE = REPO / "reference" / "intro2ai"


@pytest.fixture(scope="session")
def compiled_kernels(tmp_path_factory) -> Callable[[str], ModuleType]:
    """The reference package's compiled kernels (every .pyx, built by its own setup.py in a
    temporary folder), loaded by module name; skips without Cython or a C compiler."""
    pytest.importorskip("Cython", reason="Cython is not installed")
    if not shutil.which(os.environ.get("CC", "cc")):
        pytest.skip("no C compiler (cc or $CC) to build the compiled kernels")
    build = tmp_path_factory.mktemp("kernels")
    for source in [PACKAGE / "setup.py", *PACKAGE.glob("*.pyx")]:
        shutil.copy(source, build / source.name)
    result = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=build,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

    def load(name: str) -> ModuleType:
        (library,) = build.glob(f"{name}*.so")
        spec = importlib.util.spec_from_file_location(name, library)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(autouse=True, scope="session")
def _time_limit_cache(tmp_path_factory):
    """The reference's measured costs go to a folder of this session, never the user's cache."""
    os.environ.setdefault("AUTOGRADER_CACHE_DIR", str(tmp_path_factory.mktemp("time-limits")))


@pytest.fixture
def cifar_dir() -> Path:
    """The folder named by INTRO2AI_CIFAR_DIR; the test is skipped when it is unset or absent."""
    value = os.environ.get("INTRO2AI_CIFAR_DIR")
    if not value:
        pytest.skip("INTRO2AI_CIFAR_DIR is not set (point it at a cifar-10-batches-py folder)")
    if not Path(value).is_dir():
        pytest.skip(f"INTRO2AI_CIFAR_DIR={value} is not a folder")
    return Path(value)
