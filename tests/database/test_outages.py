"""A database that cannot serve is a 503 (clear body, Retry-After, one log line), not a 500;
a query that is wrong stays a 500; and a transaction whose connection dies reports its own
error and gives its connection back.

The fault tests in tests/stress/ restart real servers under load; these pin the pieces down.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from litestar import Litestar
from piccolo.engine.finder import engine_finder

from bandstand.database.errors import is_unavailable
from bandstand.database.postgres import PoolerSafePostgresEngine
from bandstand.database.url import PostgresDatabase, parse_database_url
from bandstand.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from bandstand.testing.accounts import People, csrf_token, log_in
from bandstand.testing.apps import client_for
from bandstand.testing.database import ADMIN_URL
from tests.support.outage import outage
from tests.support.sample import NAME, sample_app
from tests.support.tables import Band, Fan

# ---------------------------------------------------------------- which errors are an outage


@pytest.mark.engine_independent
@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection due to admin"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"), True),
        (asyncpg.exceptions.ProtocolViolationError("server login has been failing"), True),
        (asyncpg.InvalidPasswordError("password authentication failed"), True),
        (asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"), True),
        (
            asyncpg.InterfaceError(
                "cannot call Connection.fetch(): connection has been released back to the pool"
            ),
            True,
        ),
        (
            asyncpg.exceptions.InternalClientError(
                "cannot switch to state 11; another operation (2) is in progress"
            ),
            True,
        ),
        (asyncpg.UniqueViolationError("duplicate key value"), False),
        (asyncpg.exceptions.UndefinedTableError('relation "x" does not exist'), False),
        (asyncpg.exceptions.QueryCanceledError("canceling statement due to timeout"), False),
        (
            asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
            False,
        ),
        (asyncpg.exceptions.InternalClientError("unknown error in protocol"), False),
        (asyncpg.exceptions.DataError("invalid input"), False),
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("unable to open database file"), True),
        (sqlite3.OperationalError("no such table: product"), False),
        (sqlite3.IntegrityError("UNIQUE constraint failed"), False),
        (ValueError("a bug"), False),
    ],
    ids=lambda value: type(value).__name__ + (f": {value}"[:50] if str(value) else ""),
)
def test_what_counts_as_the_database_being_unavailable(
    error: BaseException, unavailable: bool
) -> None:
    assert is_unavailable(error) is unavailable


@pytest.mark.engine_independent
def test_a_network_error_counts_only_on_the_way_to_the_database() -> None:
    def elsewhere() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(ConnectionRefusedError) as caught:
        elsewhere()
    # Raised here, in a test module: another service's failure (S3, an LLM), not the database's.
    assert not is_unavailable(caught.value)


def _engine(url: str, acquire_timeout: float = 10.0) -> PoolerSafePostgresEngine:
    """Built outside the event loop: parsing may read ~/.pgpass, and Piccolo's engine runs its
    start-up checks through a thread pool it waits on."""
    database = parse_database_url(url)
    assert isinstance(database, PostgresDatabase)
    return PoolerSafePostgresEngine(
        database, pool_min=0, pool_max=1, acquire_timeout=acquire_timeout
    )


@pytest.fixture
def refused_engine() -> PoolerSafePostgresEngine:
    return _engine("postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2")


@pytest.mark.engine_independent
async def test_a_refused_database_connection_is_unavailable(
    refused_engine: PoolerSafePostgresEngine,
) -> None:
    engine = refused_engine
    await engine.start_connection_pool()
    try:
        with pytest.raises(ConnectionRefusedError) as caught:
            await engine.run_ddl("SELECT 1")
    finally:
        await engine.close_connection_pool()
    assert is_unavailable(caught.value)


# ---------------------------------------------------------------- answers during an outage


@pytest.fixture(scope="module")
def site() -> Litestar:
    """The sample site (the framework's features and one on the test tables), no demo data.
    Built outside the event loop: building reads templates."""
    return sample_app()


@pytest.fixture
async def client(
    site: Litestar, clean_tables: None, test_tables: None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the sample site, inside its lifespan (which starts the database pool)."""
    async with client_for(site) as http:
        yield http


@pytest.fixture
async def unreachable_database(client: httpx.AsyncClient) -> AsyncIterator[None]:
    async with outage():
        yield


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert response.headers["cache-control"] == "no-store"
    assert DATABASE_UNAVAILABLE in response.text
    for internal in ("Traceback", "Error", "127.0.0.1", "/dev/null", "sqlite3", "asyncpg"):
        assert internal not in response.text, internal


async def test_an_api_request_gets_a_503_with_a_clear_json_body(
    unreachable_database: None, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await client.get("/api/albums", headers={"x-request-id": "outage-1"})

    assert_unavailable(response)
    assert response.json() == {
        "status_code": 503,
        "detail": DATABASE_UNAVAILABLE,
        "request_id": "outage-1",
    }
    # One line in the log names the cause for the operator (the answer doesn't).
    lines = [r for r in caplog.records if r.name == "bandstand.errors"]
    assert len(lines) == 1, lines
    assert lines[0].levelno == logging.WARNING
    assert lines[0].getMessage().startswith("database unavailable: ")
    assert lines[0].exc_info is None
    # And no traceback from Litestar's own exception logging: one outage, one line per request.
    assert not [r for r in caplog.records if "Uncaught exception" in r.getMessage()]
    # The process is alive and says so; readiness says why it is not ready.
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 503


async def test_a_page_gets_a_503_page(
    unreachable_database: None, client: httpx.AsyncClient
) -> None:
    response = await client.get("/albums", headers={"accept": "text/html"})

    assert_unavailable(response)
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Temporarily unavailable</h1>" in response.text
    # The site's frame, not a bare error: its name and its navigation.
    assert NAME in response.text
    assert '<a href="/albums">Albums</a>' in response.text


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, people: People) -> httpx.AsyncClient:
    response = await log_in(client, "plain")
    assert response.status_code == 303, response.text
    return client


async def test_a_signed_in_request_fails_in_the_session_lookup_with_a_503(
    signed_in: httpx.AsyncClient, unreachable_database: None
) -> None:
    # Signed in before the outage: the session middleware's own query is the first to fail.
    response = await signed_in.get("/account", headers={"accept": "text/html"})

    assert_unavailable(response)


async def test_a_write_during_an_outage_is_a_503_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    (band,) = await Band.insert(Band(name="Pythonistas"))
    token = await csrf_token(client)
    body = {"name": "Ada", "email": "ada@example.com", "band_id": band["id"]}
    # The outage starts after the form was served, as it would for a person.
    async with outage():
        response = await client.post("/api/fans", json=body, headers={"x-site-csrf": token})

    assert_unavailable(response)
    assert await Fan.count() == 0
    assert await Band.select(Band.popularity).output(as_list=True) == [0]
    # And once the database is back, the same request goes through.
    again = await client.post("/api/fans", json=body, headers={"x-site-csrf": token})
    assert again.status_code == 201, again.text
    assert await Fan.count().where(Fan.email == body["email"]) == 1
    assert await Band.select(Band.popularity).output(as_list=True) == [1]


async def test_a_wrong_query_is_still_a_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing table is the code's or the migrations' fault, not an outage: 500, as before."""
    engine = engine_finder()
    assert engine is not None
    await engine.run_ddl("ALTER TABLE album RENAME TO album_elsewhere")
    try:
        with caplog.at_level(logging.ERROR):
            response = await client.get("/api/albums")
    finally:
        await engine.run_ddl("ALTER TABLE album_elsewhere RENAME TO album")

    assert response.status_code == 500, response.text
    assert response.json()["detail"] == "Internal Server Error"
    assert "retry-after" not in response.headers
    uncaught = [r for r in caplog.records if "Uncaught exception" in r.getMessage()]
    assert len(uncaught) == 1
    assert uncaught[0].exc_info is not None  # the traceback, for a bug


# ---------------------------------------------------------------- a transaction cut mid-way


@pytest.fixture
def idle_engine() -> PoolerSafePostgresEngine:
    return _engine(ADMIN_URL, acquire_timeout=2)


async def _cut(pid: int) -> None:
    """End a server session from outside, as a restart does to every session."""
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def _transaction_cut_in_its_body(engine: PoolerSafePostgresEngine) -> None:
    async with engine.transaction() as transaction:
        pid = await transaction.connection.fetchval("SELECT pg_backend_pid()")
        await _cut(pid)
        await engine.run_ddl("SELECT 1")


async def _transaction_cut_before_its_commit(engine: PoolerSafePostgresEngine) -> None:
    async with engine.transaction() as transaction:
        pid = await transaction.connection.fetchval("SELECT pg_backend_pid()")
        await _cut(pid)
        await asyncio.sleep(0.2)  # the body ends well; the commit meets the cut


@pytest.mark.engine_independent
@pytest.mark.timeout(30)
async def test_a_transaction_cut_mid_way_reports_its_own_error_and_frees_its_connection(
    engine: PoolerSafePostgresEngine,
) -> None:
    for _ in range(3):  # more than the pool holds: a kept connection would show by the second
        with pytest.raises(Exception) as caught:  # noqa: PT011 - asserted below
            await _transaction_cut_in_its_body(engine)
        # The body's error, which says the database went away — not the failed rollback's
        # "the underlying connection is closed", which Piccolo would raise in its place.
        assert is_unavailable(caught.value), repr(caught.value)
        assert "rollback" not in str(caught.value)
        # The task is no longer "in" the dead transaction.
        assert engine.current_transaction.get() is None

    # The one connection came back: a query runs at once instead of waiting out the pool.
    rows = await engine.run_ddl("SELECT 1 AS one")
    assert [dict(row) for row in rows] == [{"one": 1}]


@pytest.mark.engine_independent
@pytest.mark.timeout(30)
async def test_a_failed_commit_still_gives_the_connection_back(
    engine: PoolerSafePostgresEngine,
) -> None:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - asserted below
        await _transaction_cut_before_its_commit(engine)

    assert is_unavailable(caught.value), repr(caught.value)
    assert engine.current_transaction.get() is None
    rows = await engine.run_ddl("SELECT 2 AS two")
    assert [dict(row) for row in rows] == [{"two": 2}]
