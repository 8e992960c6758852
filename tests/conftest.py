"""Shared test set-up: the reference package on sys.path, and where the real CIFAR-10 data is."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "reference"))


@pytest.fixture
def cifar_dir() -> Path:
    """The folder named by INTRO2AI_CIFAR_DIR; the test is skipped when it is unset or absent."""
    value = os.environ.get("INTRO2AI_CIFAR_DIR")
    if not value:
        pytest.skip("INTRO2AI_CIFAR_DIR is not set (point it at a cifar-10-batches-py folder)")
    if not Path(value).is_dir():
        pytest.skip(f"INTRO2AI_CIFAR_DIR={value} is not a folder")
    return Path(value)
