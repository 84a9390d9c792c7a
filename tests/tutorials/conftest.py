"""A fresh copy of the project per tutorial, as a reader's checkout with `.venv/` installed."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT

TUTORIALS = PROJECT_ROOT / "docs" / "tutorials"
# What a checkout does not have: environments, caches, local data and settings.
NOT_COPIED = shutil.ignore_patterns(
    ".venv*",
    ".git",
    "data",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "test-artifacts",
    ".env",
    "node_modules",
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=NOT_COPIED)
    # The virtualenv `make run` installs, shared rather than installed again: the one these
    # tests run in (CI's .venv-3.13 too).
    (copy / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return copy


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    return folder
