"""docs/tutorials/sqlite-to-postgresql.md, followed word for word in a fresh copy of the project,
on the demos' data (runner.py; the conventions are in docs/tutorials/README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tutorials.conftest import TUTORIALS
from tests.tutorials.runner import run_tutorial

# It builds its own databases and server, whichever pass runs the suite.
pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(300)]


def test_sqlite_to_postgresql(project: Path, logs: Path, fresh_postgres_url: str) -> None:
    postgres_url = fresh_postgres_url
    # The reader's managed database: the test's own, on the local server.
    database = {"postgresql://app:PASSWORD@db.example.com:5432/app?sslmode=require": postgres_url}

    transcript = run_tutorial(
        TUTORIALS / "sqlite-to-postgresql.md", project, logs, substitutions=database
    )

    counts = re.compile(
        r"(backed up to|restored from) .*: (\d+) rows of (\d+) tables and (\d+) files"
    )
    found = [match.groups() for output in transcript.outputs for match in counts.finditer(output)]
    (backed_up, restored) = found
    assert backed_up[0] == "backed up to"
    assert restored[1:] == backed_up[1:]
    rows, files = int(backed_up[1]), int(backed_up[3])
    assert rows > 32  # the demo's products, at least
    assert files > 0  # and its photos
