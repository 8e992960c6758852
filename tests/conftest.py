"""Shared test set-up: the reference package on sys.path, and where the real CIFAR-10 data is."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "reference"))


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
