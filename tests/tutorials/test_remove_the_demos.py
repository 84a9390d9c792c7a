"""docs/tutorials/remove-the-demos.md, followed word for word in a fresh copy of the project
(runner.py; the conventions are in docs/tutorials/README.md). Then, in what is left, the
framework's engine tests run as a developer runs them: on SQLite, on PostgreSQL, and through
PgBouncer (tests/database starts its own servers), every one of them run and passed."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import xml.etree.ElementTree as ElementTree
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.mandatory import skip_unless_ci
from tests.support.postgres_servers import missing_prerequisites
from tests.tutorials.conftest import TUTORIALS
from tests.tutorials.runner import reader_environment, run_tutorial

# It builds its own databases and servers, whichever pass runs the suite; the engine tests it
# runs afterwards take minutes.
pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(1200)]

DEMOS = ("catalog", "webinars", "chat", "dashboard")
DEMO_TABLES = {"product", "category", "registrant", "conversation", "message"}
DEMO_IMPORT = re.compile(rf"\bproject\.({'|'.join(DEMOS)})\b")
# The framework's tests of the database engines: each engine's own, and the same ORM
# behaviour on both (conformance).
ENGINE_TESTS = ("tests/database", "tests/conformance")
ENGINE_TEST_TIMEOUT = 900


def engine_test_command(database: str, report: Path) -> list[str]:
    """What runs the engine tests on `database` in the copy, from its folder."""
    command = [".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *ENGINE_TESTS]
    if database == "postgres":
        # The tests that start servers of their own ran on the SQLite pass.
        command += ["-m", "not engine_independent"]
    return [*command, f"--junitxml={report}"]


def run_engine_tests(project: Path, logs: Path, database: str) -> list[ElementTree.Element]:
    """Run them in the copy as in a new terminal, on `database`; CI=true turns any skip into a
    failure. Returns the report's test cases."""
    report = logs / f"engine-tests-{database}.xml"
    environ = {**reader_environment(), "BANDSTAND_TEST_DATABASE": database, "CI": "true"}
    if "BANDSTAND_TEST_POSTGRES_URL" in os.environ:
        environ["BANDSTAND_TEST_POSTGRES_URL"] = os.environ["BANDSTAND_TEST_POSTGRES_URL"]
    with (logs / f"engine-tests-{database}.log").open("w") as output:
        result = subprocess.run(
            engine_test_command(database, report),
            cwd=project,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=ENGINE_TEST_TIMEOUT,
            check=False,
        )
    printed = (logs / f"engine-tests-{database}.log").read_text()
    assert result.returncode == 0, f"the engine tests on {database}:\n{printed[-5000:]}"
    # Written by the pytest run just made, in the test's own folder.
    cases = ElementTree.parse(report).getroot().iter("testcase")
    return list(cases)


def tables_of(database: Path) -> set[str]:
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def test_remove_the_demos(project: Path, logs: Path) -> None:
    reason = missing_prerequisites(pgbouncer=True)
    if reason is not None:
        skip_unless_ci(reason)

    transcript = run_tutorial(TUTORIALS / "remove-the-demos.md", project, logs)

    features = (project / "project/features.py").read_text()
    for demo in DEMOS:
        for folder in ("project", "templates", "tests"):
            assert not (project / folder / demo).exists(), f"{folder}/{demo}"
        assert f"project.{demo}" not in features
    importing = [
        str(path.relative_to(project))
        for path in project.rglob("*.py")
        if ".venv" not in path.parts and DEMO_IMPORT.search(path.read_text())
    ]
    assert importing == []
    tables = tables_of(project / "data" / "bandstand.sqlite3")
    assert "piccolo_user" in tables
    assert tables & DEMO_TABLES == set()
    tests = next(output for output in transcript.outputs if " passed" in output)
    assert re.search(r"^\d+ passed in ", tests, re.MULTILINE), tests
    assert not re.search(r"\b\d+ (failed|errors?|skipped)\b", tests), tests

    ran: dict[str, list[ElementTree.Element]] = {
        database: run_engine_tests(project, logs, database) for database in ("sqlite", "postgres")
    }

    for database, cases in ran.items():
        assert cases, database
        problems = [
            f"{case.get('classname')}.{case.get('name')}: {child.tag}"
            for case in cases
            for child in case
            if child.tag in {"failure", "error", "skipped"}
        ]
        assert problems == [], database
    # Between the two passes, every folder ran, PgBouncer's tests among them.
    modules = {case.get("classname", "") for cases in ran.values() for case in cases}
    for folder in ENGINE_TESTS:
        assert any(module.startswith(folder.replace("/", ".") + ".") for module in modules), folder
    assert any(module.startswith("tests.database.test_pgbouncer") for module in modules)
