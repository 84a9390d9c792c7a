"""docs/tutorials/add-a-table.md, followed word for word in a fresh copy of the project
(runner.py; the conventions are in docs/tutorials/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tutorials.conftest import TUTORIALS
from tests.tutorials.runner import run_tutorial

# It builds its own database and server, whichever pass runs the suite.
pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(300)]


def test_add_a_table(project: Path, logs: Path) -> None:
    run_tutorial(TUTORIALS / "add-a-table.md", project, logs)

    (migration,) = [
        path
        for path in (project / "piccolo_migrations").glob("*.py")
        if "reading_list_item" in path.read_text()
    ]
    assert '"author"' in migration.read_text()
