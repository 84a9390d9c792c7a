"""`make stress`: reliability and security under load, faults and hostile input, on the
framework's own routes and the sample site's (tests/support/sample/), never the demos'.

Collected only with BANDSTAND_STRESS=1 (what `make stress` sets), so `make test` keeps its
length. The figures the tests record are printed at the end and written to
bench/results/stress-<database>.{json,md}.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from bandstand.testing.apps import client_for
from bandstand.testing.database import TEST_DATABASE
from tests.stress.figures import Figures
from tests.stress.traffic import SUPERUSER_PASSWORD, prepare_database, serving
from tests.support.sample import sample_app

if os.environ.get("BANDSTAND_STRESS") != "1":
    collect_ignore_glob = ["test_*.py"]

_figures = Figures(database=TEST_DATABASE)


@pytest.fixture(scope="session")
def figures() -> Figures:
    return _figures


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _figures.rows:
        return
    terminalreporter.section("stress figures")
    terminalreporter.write(_figures.table())
    _figures.write()


@pytest.fixture(scope="session")
def sample() -> Litestar:
    """The sample site's app, built once, outside any event loop (building reads files)."""
    return sample_app()


@pytest.fixture
async def client(
    clean_tables: None, test_tables: None, sample: Litestar
) -> AsyncIterator[httpx.AsyncClient]:
    """The plugin's `client`, on the sample site: an HTTP client inside its lifespan, every
    table empty."""
    async with client_for(sample) as http:
        yield http


@pytest.fixture
def sample_server(fresh_database_url: str, tmp_path: Path) -> Iterator[str]:
    """The sample site under a real server, development settings, on a fresh database with its
    data and the superuser SUPERUSER; yields the base URL."""
    media = str(tmp_path / "media")
    prepare_database(fresh_database_url, superuser_password=SUPERUSER_PASSWORD, MEDIA_ROOT=media)
    log = tmp_path / "server.log"
    with serving(fresh_database_url, log, production=False, MEDIA_ROOT=media) as server:
        yield server.base
