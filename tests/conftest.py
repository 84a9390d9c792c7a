"""Test set-up: a fresh database per run (SQLite, or PostgreSQL with
BANDSTAND_TEST_DATABASE=postgres), migrated before any test, and a blocking-call detector
around every async test.

The environment is set in `pytest_configure`, before any test module imports `piccolo_conf`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import asyncpg
import httpx
import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO

pytest_plugins = [
    "tests.support.postgres_fixtures",
    "tests.support.browser",
    "tests.support.accounts",
    "tests.support.fake_llm",
    "tests.support.s3_server",
]

TEST_DATABASE = os.environ.get("BANDSTAND_TEST_DATABASE", "sqlite")
# The local service the PostgreSQL pass creates its throwaway database on.
ADMIN_URL = os.environ.get(
    "BANDSTAND_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_state: dict[str, Any] = {}
_skipped: list[str] = []


async def _create_postgres_database(name: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_postgres_database(name: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    os.environ["ENVIRONMENT"] = "test"
    os.environ.pop("DEBUG", None)
    os.environ["LOG_LEVEL"] = "WARNING"
    # The chat's offline provider, whatever a developer's .env says, and quick about it.
    os.environ["LLM_API_KEY"] = ""
    os.environ["LLM_OFFLINE_TOKEN_DELAY_MS"] = "1"
    tmp = tempfile.mkdtemp(prefix="bandstand-test-")
    _state["tmp"] = tmp
    # Uploads go to the run's own folder, never the developer's data/media.
    os.environ["STORAGE_BACKEND"] = "filesystem"
    os.environ["MEDIA_ROOT"] = f"{tmp}/media"
    if TEST_DATABASE == "postgres":
        name = f"bandstand_test_{os.getpid()}"
        try:
            asyncio.run(_create_postgres_database(name))
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            reason = f"PostgreSQL pass skipped: cannot reach {ADMIN_URL} ({error})"
            pytest.exit(reason, returncode=1 if _in_ci() else 0)
        _state["postgres_database"] = name
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp}/test.sqlite3"
    os.environ["DATABASE_URL"] = url

    from piccolo.apps.migrations.commands.forwards import run_forwards

    with contextlib.redirect_stdout(io.StringIO()) as printed:
        response = asyncio.run(run_forwards(app_name="all"))
    if not response.success:
        pytest.exit(f"migrations failed: {response.message}\n{printed.getvalue()}", returncode=1)
    # Import the app here, outside any event loop: importing reads files, which the
    # blocking-call detector would rightly flag inside a test.
    import main  # noqa: F401


def pytest_unconfigure(config: pytest.Config) -> None:
    from piccolo.engine.finder import engine_finder

    from project.database.sqlite import TunedSQLiteEngine

    engine = engine_finder()
    if isinstance(engine, TunedSQLiteEngine):  # its query threads live as long as it does
        engine.close_query_threads()
    name = _state.get("postgres_database")
    if name:
        asyncio.run(_drop_postgres_database(name))
    shutil.rmtree(_state.get("tmp", ""), ignore_errors=True)
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
    if _in_ci() and _skipped:
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


def allow_known_safe_blocking(detector: BlockBuster) -> None:
    """The exceptions, one by one, each with why it is safe."""
    # asyncpg's sslmode=prefer/allow (libpq's default) looks for a client certificate and key
    # under ~/.postgresql when it opens a connection: a path resolve and a stat in the home
    # folder, per new connection rather than per query (the pool keeps its connections). The
    # alternative, an SSL context, would lose prefer's fallback to plaintext.
    for function in detector.functions.values():
        function.can_block_in("asyncpg/connect_utils.py", {"_dot_postgresql_path"})
    detector.functions["os.stat"].can_block_in(
        "asyncpg/connect_utils.py", {"_parse_connect_dsn_and_args"}
    )
    # With no S3 keys set, the S3 storage walks botocore's credential chain, which reads
    # ~/.aws/credentials, ~/.aws/config and ~/.boto from inside coroutines. It does that once,
    # in a worker thread, on an event loop of that thread's own that nothing else runs on; the
    # detector sees "a running loop" there and would flag it. The app's loop never blocks.
    for function in detector.functions.values():
        function.can_block_in("project/storage/s3.py", {"walk_credential_chain"})
    # Litestar 2.25 spools a multipart upload in memory and, when it passes 1 MB, moves it to
    # a temporary file inside the spooled file's own write, on the event loop: one page-cache
    # write of that first megabyte per upload (Litestar offloads every later write to a
    # thread). Its UploadFile offers no way to set the threshold from outside.
    for function in detector.functions.values():
        function.can_block_in("tempfile.py", {"rollover"})


@pytest.fixture
def database_kind() -> str:
    if TEST_DATABASE == "postgres":
        return "postgres"
    return "sqlite"


@pytest.fixture
async def clean_tables() -> None:
    """Empty every project table (children first) before the test."""
    from piccolo.apps.user.tables import BaseUser
    from piccolo.table import Table
    from piccolo_api.session_auth.tables import SessionsBase

    from project.features import FEATURES

    tables: list[type[Table]] = [
        BaseUser,
        SessionsBase,
        *(table for feature in FEATURES for table in feature.tables),
    ]
    for table in reversed(tables):
        await table.delete(force=True)


@pytest.fixture
async def client(clean_tables: None) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app, inside its lifespan, on the test's own event loop."""
    from main import app

    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=cast(Any, app)), base_url="http://localhost"
        ) as http,
    ):
        yield http


@contextlib.contextmanager
def new_postgres_database() -> Iterator[str]:
    """The URL of a new, empty database on the local PostgreSQL server, dropped afterwards."""
    name = f"bandstand_fresh_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_postgres_database(name))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_drop_postgres_database(name))


@pytest.fixture
def fresh_database_url(tmp_path: Any) -> Iterator[str]:
    """The URL of a new, empty database of the pass's kind, dropped afterwards."""
    if TEST_DATABASE != "postgres":
        yield f"sqlite:///{tmp_path}/fresh.sqlite3"
        return
    with new_postgres_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, whichever pass this is."""
    with new_postgres_database() as url:
        yield url


def run_piccolo(*args: str, database_url: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """Run the Piccolo CLI from the project folder, as a person would."""
    env = {**os.environ, **environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [PICCOLO, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
