"""With the statement cache off, a query the engine has run before takes one round trip: its
description is kept, its statement stays unnamed and is parsed again with every run — so it
still works through a transaction-mode PgBouncer — and a schema change costs one failed query."""

from __future__ import annotations

from typing import Any

import anyio
import asyncpg
import pytest

from project.database.postgres import PoolerSafePostgresEngine
from project.database.statements import DescribedStatementsConnection
from project.database.url import PostgresDatabase
from tests.conftest import ADMIN_URL
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
    assert describes == [DOUBLE]


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


async def test_a_changed_column_type_fails_one_query_then_is_described_again(
    admin_database: PostgresDatabase,
) -> None:
    connection = await asyncpg.connect(
        **admin_database.connect_kwargs, connection_class=DescribedStatementsConnection
    )
    try:
        await connection.execute(
            "CREATE TEMPORARY TABLE sizes (id int4, size int4); INSERT INTO sizes VALUES (1, 7)"
        )
        query = "SELECT size FROM sizes WHERE id = $1"
        assert await connection.fetchval(query, 1) == 7
        await connection.execute("ALTER TABLE sizes ALTER size TYPE bigint")

        # The kept description says four bytes; the server now sends eight. Unlike a failed
        # statement on the server, this one ran: it is not retried, which could run a write twice.
        with pytest.raises(BufferError):
            await connection.fetchval(query, 1)
        assert await connection.fetchval(query, 1) == 7
    finally:
        await connection.close()


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
    finally:
        await engine.close_connection_pool()
    assert wrong == []
