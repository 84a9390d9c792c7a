"""The pytest plugin (`pytest_plugins = ["bandstand.testing.plugin"]`): the run's database,
the app, and a blocking-call detector around every async test.

The environment is set in `pytest_configure`, before any test module imports `piccolo_conf`.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from bandstand.email.backends import MemoryBackend
from bandstand.testing import apps, database
from bandstand.testing.blocking import allow_known_safe_blocking

pytest_plugins = ["bandstand.testing.accounts"]

# What tests that are not about password hashing hash with: PBKDF2 at Piccolo's production
# rounds is most of the CPU of a test that makes a few users.
TEST_HASH_ITERATIONS = 1000
_state: dict[str, Any] = {}
_skipped: list[str] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("bandstand_app", "the project's app, as for uvicorn", default=apps.DEFAULT_APP)


def _runs_tests(config: pytest.Config) -> bool:
    """False in pytest-xdist's controller, which hands tests to workers and runs none."""
    return hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_password_hashing: hash passwords with the production rounds"
    )
    if not _runs_tests(config):
        return
    apps.set_app_path(config.getini("bandstand_app"))
    os.environ["ENVIRONMENT"] = "test"
    os.environ.pop("DEBUG", None)
    os.environ["LOG_LEVEL"] = "WARNING"
    # The chat's offline provider, whatever a developer's .env says, and quick about it.
    os.environ["LLM_API_KEY"] = ""
    os.environ["LLM_OFFLINE_TOKEN_DELAY_MS"] = "1"
    tmp = tempfile.mkdtemp(prefix="bandstand-test-")
    _state["tmp"] = tmp
    # E-mails are kept in memory (`mail_outbox`), never sent or printed.
    os.environ["EMAIL_BACKEND"] = "memory"
    # Uploads go to the run's own folder, never the developer's data/media.
    os.environ["STORAGE_BACKEND"] = "filesystem"
    os.environ["MEDIA_ROOT"] = f"{tmp}/media"
    # Backups from the staff page too, never into the developer's data/backups.
    os.environ["BACKUP_ROOT"] = f"{tmp}/backups"
    if database.TEST_DATABASE == "postgres":
        name = f"bandstand_test_{os.getpid()}"
        try:
            url = database.create_postgres_database(name)
        except database.DatabaseUnavailable as error:
            pytest.exit(f"PostgreSQL pass skipped: {error}", returncode=1 if in_ci() else 0)
        _state["postgres_database"] = name
    else:
        url = f"sqlite:///{tmp}/test.sqlite3"
    os.environ["DATABASE_URL"] = url
    try:
        database.migrate()
    except RuntimeError as error:
        pytest.exit(str(error), returncode=1)
    # Import the app here, outside any event loop: importing reads files, which the
    # blocking-call detector would rightly flag inside a test.
    apps.project_app()


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _runs_tests(config) or "tmp" not in _state:
        return
    from piccolo.engine.finder import engine_finder

    from bandstand.database.sqlite import TunedSQLiteEngine

    engine = engine_finder()
    if isinstance(engine, TunedSQLiteEngine):  # its query threads live as long as it does
        engine.close_query_threads()
    name = _state.get("postgres_database")
    if name:
        database.drop_postgres_database(name)
    shutil.rmtree(_state["tmp"], ignore_errors=True)
    _fail_on_leaked_threads()


def _fail_on_leaked_threads() -> None:
    """A connection left open keeps aiosqlite's non-daemon thread alive, and the interpreter
    would wait for it forever: report it and fail instead of hanging CI."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(timeout=2)
    leaked = [
        t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
    ]
    if leaked:
        sys.stderr.write(f"\nleaked non-daemon threads (an unclosed connection?): {leaked}\n")
        sys.stderr.flush()
        os._exit(1)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # In CI every test is mandatory: a skip there means a part of the suite did not run.
    if in_ci() and _skipped:
        sys.stderr.write(f"\nCI forbids skipped tests, but these skipped: {_skipped}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    # Every async test runs on anyio's runner, which keeps an async fixture's set-up and
    # tear-down in one task, as the app's lifespan (anyio task groups) needs.
    if name.startswith("test") and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


@pytest.fixture
def mail_outbox() -> Iterator[list[EmailMessage]]:
    """The messages sent during the test, in order (EMAIL_BACKEND=memory in tests)."""
    MemoryBackend.outbox.clear()
    yield MemoryBackend.outbox
    MemoryBackend.outbox.clear()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def blockbuster(request: pytest.FixtureRequest) -> Iterator[BlockBuster | None]:
    """Any blocking call (file, socket, sleep, sync DB) on the event loop fails the async test."""
    if not inspect.iscoroutinefunction(request.function):
        yield None
        return
    with blockbuster_ctx() as detector:
        allow_known_safe_blocking(detector)
        yield detector


@pytest.fixture(autouse=True)
def quick_password_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Passwords hashed with few rounds, except in tests marked `real_password_hashing`
    (those about hashing itself). A stored hash names its rounds, so checks still verify."""
    if request.node.get_closest_marker("real_password_hashing"):
        yield
        return
    from piccolo.apps.user.tables import BaseUser

    rounds = BaseUser._pbkdf2_iteration_count
    BaseUser._pbkdf2_iteration_count = TEST_HASH_ITERATIONS
    try:
        yield
    finally:
        BaseUser._pbkdf2_iteration_count = rounds


@pytest.fixture
def database_kind() -> str:
    return "postgres" if database.TEST_DATABASE == "postgres" else "sqlite"


@pytest.fixture
async def clean_tables() -> None:
    """Empty every table of every installed Piccolo app (children first) before the test."""
    async with database.one_connection():
        for table in reversed(database.app_tables()):
            await table.delete(force=True)


@pytest.fixture
async def client(clean_tables: None) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the project's app, inside its lifespan, on the test's event loop."""
    async with apps.client_for(apps.project_app()) as http:
        yield http


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the run's kind, dropped afterwards."""
    if database.TEST_DATABASE != "postgres":
        yield f"sqlite:///{tmp_path}/fresh.sqlite3"
        return
    with database.new_postgres_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, whichever database the run uses."""
    with database.new_postgres_database() as url:
        yield url
