"""A fresh copy of the project per tutorial, as a reader's checkout with `.venv/` installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT, copy_project

TUTORIALS = PROJECT_ROOT / "docs" / "tutorials"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy_project(copy)
    # The virtualenv `make run` installs, shared rather than installed again: the one these
    # tests run in (CI's .venv-3.13 too).
    (copy / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return copy


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    return folder
