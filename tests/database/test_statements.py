"""With the statement cache off, a query the engine has run before takes one round trip and is
not planned again: outside a transaction it runs as a statement named after its content, made
on whichever server connection lacks it — so it works through a transaction-mode PgBouncer — and
in a transaction as an unnamed statement whose description is kept for that transaction; a
schema change costs no query anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import asyncpg
import pytest

from bandstand.database import statements
from bandstand.database.postgres import PoolerSafePostgresEngine
from bandstand.database.statements import PREFIX, DescribedStatementsConnection
from bandstand.database.url import PostgresDatabase
from bandstand.testing.database import ADMIN_URL
from tests.database.conftest import parse

pytestmark = pytest.mark.engine_independent

DOUBLE = "SELECT $1::int * 2 AS n"
EXCLAIM = "SELECT $1::text || '!' AS s"


@pytest.fixture
def admin_database() -> PostgresDatabase:
    return parse(ADMIN_URL)


@pytest.fixture
def idle_engine(admin_database: PostgresDatabase) -> PoolerSafePostgresEngine:
    # One connection: every query below meets the statements the ones before it left.
    return PoolerSafePostgresEngine(admin_database, pool_min=0, pool_max=1)


@pytest.fixture
def describes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queries asyncpg sends Parse/Describe for, in order."""
    described: list[str] = []
    original = asyncpg.Connection._get_statement

    async def counting(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        described.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "_get_statement", counting)
    return described


async def test_the_engine_describes_a_repeated_query_once(
    engine: PoolerSafePostgresEngine, describes: list[str]
) -> None:
    results = [await engine._run_in_pool(DOUBLE, [number]) for number in range(5)]

    assert [rows[0]["n"] for rows in results] == [0, 2, 4, 6, 8]
    # Once unnamed, for the types that name it; once as the named statement the runs bind.
    assert describes == [DOUBLE, DOUBLE]


async def named_statements(connection: asyncpg.Connection) -> dict[str, tuple[str, int]]:
    """The statements the server connection holds under Bandstand's names: query, runs."""
    rows = await connection.fetch(
        "SELECT name, statement, generic_plans + custom_plans AS runs "
        "FROM pg_prepared_statements WHERE name LIKE $1",
        PREFIX + "%",
    )
    return {row["name"]: (row["statement"], row["runs"]) for row in rows}


async def test_outside_a_transaction_a_query_runs_as_its_named_statement(
    engine: PoolerSafePostgresEngine,
) -> None:
    for number in range(5):
        await engine._run_in_pool(DOUBLE, [number])
    connection = await engine.acquire()
    try:
        held = await named_statements(connection)
    finally:
        await engine.release(connection)

    assert [query for query, runs in held.values() if runs == 5] == [DOUBLE]


async def test_a_server_connection_that_lost_the_name_gets_it_again(
    engine: PoolerSafePostgresEngine,
) -> None:
    assert (await engine._run_in_pool(DOUBLE, [1]))[0]["n"] == 2
    await engine._run_in_pool("DEALLOCATE ALL")

    assert (await engine._run_in_pool(DOUBLE, [2]))[0]["n"] == 4
    assert (await engine._run_in_pool(DOUBLE, [3]))[0]["n"] == 6


async def test_a_name_another_client_made_on_the_server_connection_is_made_again(
    engine: PoolerSafePostgresEngine,
) -> None:
    """What a transaction-mode pooler does: this client's first run of a query lands on a server
    connection where another client already made its name."""
    assert (await engine._run_in_pool(DOUBLE, [1]))[0]["n"] == 2
    connection = await engine.acquire()
    try:
        connection._named.clear()  # this client, as if new, on the same server connection
        assert await connection.fetchval(DOUBLE, 4) == 8
        held = await named_statements(connection)
    finally:
        await engine.release(connection)

    # Made again (it has run once since), not piled up beside the other client's.
    assert [runs for query, runs in held.values() if query == DOUBLE] == [1]


async def test_in_a_transaction_a_query_never_needs_its_name(
    engine: PoolerSafePostgresEngine,
) -> None:
    # A missing name would abort the transaction, so in one the statement stays unnamed.
    assert (await engine._run_in_pool(DOUBLE, [1]))[0]["n"] == 2
    await engine._run_in_pool("DEALLOCATE ALL")
    async with engine.transaction() as transaction:
        assert await transaction.connection.fetchval(DOUBLE, 5) == 10
        assert await transaction.connection.fetchval(EXCLAIM, "yes") == "yes!"
        assert await named_statements(transaction.connection) == {}


async def test_control_asyncpg_alone_describes_every_run(
    admin_database: PostgresDatabase, describes: list[str]
) -> None:
    connection = await asyncpg.connect(**admin_database.connect_kwargs)
    try:
        for number in range(3):
            assert await connection.fetchval(DOUBLE, number) == number * 2
    finally:
        await connection.close()
    assert describes == [DOUBLE] * 3


async def test_queries_taking_turns_on_one_connection_each_run_their_own(
    engine: PoolerSafePostgresEngine,
) -> None:
    # The unnamed statement on the server is whichever query was parsed last: a kept
    # description sent without its Parse would run the other query.
    for number in range(3):
        assert (await engine._run_in_pool(DOUBLE, [number]))[0]["n"] == number * 2
        assert (await engine._run_in_pool(EXCLAIM, [str(number)]))[0]["s"] == f"{number}!"


async def test_named_statements_a_connection_no_longer_keeps_are_closed(
    engine: PoolerSafePostgresEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statements, "KEPT_STATEMENTS", 2)
    queries = [f"SELECT $1::int + {number} AS n" for number in range(4)]
    for query in queries:
        assert (await engine._run_in_pool(query, [1]))[0]["n"] == 1 + queries.index(query)
    async with engine.transaction() as transaction:
        held = await named_statements(transaction.connection)

    assert sorted(query for query, _ in held.values()) == queries[2:]


async def test_a_name_made_again_displaces_no_other(
    engine: PoolerSafePostgresEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statements, "KEPT_STATEMENTS", 2)
    await engine._run_in_pool(DOUBLE, [1])
    await engine._run_in_pool(EXCLAIM, ["a"])
    await engine._run_in_pool("DEALLOCATE ALL")
    # Both made again on this server connection, neither closing the other's.
    await engine._run_in_pool(DOUBLE, [2])
    await engine._run_in_pool(EXCLAIM, ["b"])
    async with engine.transaction() as transaction:
        held = await named_statements(transaction.connection)

    assert sorted(query for query, _ in held.values()) == sorted([DOUBLE, EXCLAIM])


async def test_a_statement_that_refuses_a_transaction_block_runs_unnamed(
    engine: PoolerSafePostgresEngine,
) -> None:
    # The name of a statement is made in a transaction; VACUUM may not run in one.
    for _ in range(2):
        assert await engine._run_in_pool("VACUUM pg_catalog.pg_am") == []


@pytest.fixture
async def sizes(admin_database: PostgresDatabase) -> AsyncIterator[asyncpg.Connection]:
    """A connection with a table of sizes, whose size column holds four bytes."""
    connection = await asyncpg.connect(
        **admin_database.connect_kwargs, connection_class=DescribedStatementsConnection
    )
    try:
        await connection.execute(
            "CREATE TEMPORARY TABLE sizes (id int4, size int4); INSERT INTO sizes VALUES (1, 7)"
        )
        yield connection
    finally:
        await connection.close()


SIZE = "SELECT size FROM sizes WHERE id = $1"


async def test_a_changed_column_type_is_described_again_outside_a_transaction(
    sizes: asyncpg.Connection,
) -> None:
    assert await sizes.fetchval(SIZE, 1) == 7
    await sizes.execute("ALTER TABLE sizes ALTER size TYPE bigint")

    # The server refuses the named statement whose result changed type, before it runs.
    assert await sizes.fetchval(SIZE, 1) == 7
    assert [query for query, _ in (await named_statements(sizes)).values()].count(SIZE) == 2


async def test_a_changed_column_type_is_read_right_in_the_next_transaction(
    sizes: asyncpg.Connection,
) -> None:
    async with sizes.transaction():
        assert await sizes.fetchval(SIZE, 1) == 7
        assert await sizes.fetchval(SIZE, 1) == 7
    await sizes.execute("ALTER TABLE sizes ALTER size TYPE real")

    # Of the same width: a description kept from before would read the float's four bytes as
    # an integer, 1088421888, without an error (tests/conformance/test_schema_changes.py).
    async with sizes.transaction():
        assert repr(await sizes.fetchval(SIZE, 1)) == "7.0"


async def test_a_column_type_changed_in_the_transaction_is_read_right_in_it(
    sizes: asyncpg.Connection,
) -> None:
    async with sizes.transaction():
        assert await sizes.fetchval(SIZE, 1) == 7
        await sizes.execute("ALTER TABLE sizes ALTER size TYPE real")
        assert repr(await sizes.fetchval(SIZE, 1)) == "7.0"


async def test_described_statements_through_pgbouncer_in_transaction_mode(
    bouncer_engine: PoolerSafePostgresEngine,
) -> None:
    """Twenty clients on PgBouncer's two server connections: each query lands on whichever
    server connection is free, which never saw it described."""
    engine = bouncer_engine
    await engine.start_connection_pool()
    wrong: list[object] = []

    async def client(offset: int) -> None:
        for number in range(offset, offset + 20):
            doubled = await engine._run_in_pool(DOUBLE, [number])
            exclaimed = await engine._run_in_pool(EXCLAIM, [str(number)])
            if (doubled[0]["n"], exclaimed[0]["s"]) != (number * 2, f"{number}!"):
                wrong.append((number, doubled, exclaimed))

    try:
        async with anyio.create_task_group() as group:
            for offset in range(0, 2000, 100):
                group.start_soon(client, offset)
        connection = await engine.acquire()
        try:
            held = await named_statements(connection)
        finally:
            await engine.release(connection)
    finally:
        await engine.close_connection_pool()
    assert wrong == []
    assert {query for query, _ in held.values()} >= {DOUBLE, EXCLAIM}
