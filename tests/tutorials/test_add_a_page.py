"""docs/tutorials/add-a-page.md, followed word for word in a fresh copy of the project (runner.py;
the conventions are in docs/tutorials/README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tutorials.conftest import TUTORIALS
from tests.tutorials.runner import run_tutorial

# It builds its own database and server, whichever pass runs the suite.
pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(300)]


def test_add_a_page(project: Path, logs: Path) -> None:
    transcript = run_tutorial(TUTORIALS / "add-a-page.md", project, logs)

    tests = next(output for output in transcript.outputs if " passed" in output)
    assert re.search(r"\b\d+ passed\b", tests), tests
    assert "failed" not in tests
