"""A column's type changed by a migration while the app keeps serving (PostgreSQL): every query
afterwards answers right, with no "cached plan must not change result type" reaching a request.

The migration runs on a connection of its own, as `piccolo migrations forwards` in another
process would. The engines meanwhile hold statements described before it: asyncpg's cache (the
stock engine, and Bandstand's with `statement_cache_size=100`), Bandstand's statements named
after their content and the descriptions it keeps (bandstand/database/statements.py)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from piccolo.columns import Integer
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table, create_table_class

from bandstand.app import create_app
from bandstand.settings import get_settings
from bandstand.testing.apps import client_for
from tests.conformance.conftest import POOL_MAX
from tests.conformance.harness import SIDES, AnyEngine, PostgresBackend, plain, run, same_on_both
from tests.conformance.readings import READINGS, Reading

# An int4 column becomes float4, of the same width: read with its old description, its bytes
# give a wrong number, not an error. An int4 becomes int8, which no longer fits the old one.
WIDTH_KEPT = "ALTER TABLE {table} ALTER COLUMN value TYPE real"
WIDTH_CHANGED = "ALTER TABLE {table} ALTER COLUMN size TYPE bigint"
BOTH = "ALTER TABLE {table} ALTER COLUMN value TYPE real, ALTER COLUMN size TYPE bigint"
PATHS = ["/readings/1", "/readings/1/in-a-transaction"]
# Reads on each side of it: enough to go round every connection of a pool, twice.
READS = POOL_MAX * 4


def readings_table(engine: AnyEngine) -> type[Table]:
    return create_table_class(
        "Reading",
        class_kwargs={"tablename": "reading", "db": engine},
        class_members={"value": Integer(), "size": Integer()},
    )


async def migrate(engine: AnyEngine, table: str, migration: str = BOTH) -> None:
    """Change the columns' types from a connection outside the engine's pool."""
    assert isinstance(engine, PostgresEngine)
    connection = await engine.get_new_connection()
    try:
        await connection.execute(migration.format(table=table))
    finally:
        await connection.close()


async def read(engine: AnyEngine, table: type[Table], in_transaction: bool) -> object:
    """The reading's value and size, or the name of the error that reached the caller."""
    query = table.select(table.value, table.size).where(table.id == 1).first()  # type: ignore[attr-defined]
    try:
        if in_transaction:
            async with engine.transaction():
                return plain(await query)
        return plain(await query)
    except Exception as error:  # noqa: BLE001 - what a request would have got
        return type(error).__name__


async def test_queries_after_a_migration_one_at_a_time(
    schema_change_pair: PostgresBackend,
) -> None:
    """Reads in turn, outside and inside transactions, before and after the migration; the
    first ones after it in transactions, where a description kept from before would be used."""

    async def scenario(engine: AnyEngine) -> object:
        readings = readings_table(engine)
        await readings.create_table()
        await readings.insert(readings(value=7, size=7))
        turns = [False, True] * READS
        outcomes = {}
        for name, migration in (("before", None), ("real", WIDTH_KEPT), ("bigint", WIDTH_CHANGED)):
            if migration is not None:
                await migrate(engine, "reading", migration)
            reads = [await read(engine, readings, True) for _ in range(READS)]
            reads += [await read(engine, readings, in_transaction) for in_transaction in turns]
            outcomes[name] = reads
        return outcomes

    result = await same_on_both(schema_change_pair, scenario)
    right = {
        "before": {"value": "int:7", "size": "int:7"},
        "real": {"value": "float:7.0", "size": "int:7"},
        "bigint": {"value": "float:7.0", "size": "int:7"},
    }
    for name, reads in result.items():
        if schema_change_pair.name != "postgres-cached":
            assert reads == [right[name]] * len(reads), name
        else:
            # asyncpg's own cache, on either engine: in a transaction, a statement cached before
            # the migration fails once per connection (the caller's transaction can't be retried
            # for it); outside one it is prepared again and run, unseen.
            assert {str(outcome) for outcome in reads} <= {
                str(right[name]),
                "InvalidCachedStatementError",
            }


async def test_queries_while_a_migration_runs(schema_change_pair: PostgresBackend) -> None:
    """Readers keep reading while the migration waits for its lock, changes the columns, and
    lets them go on."""

    async def scenario(engine: AnyEngine) -> object:
        readings = readings_table(engine)
        await readings.create_table()
        await readings.insert(readings(value=7, size=7))
        migrated = asyncio.Event()
        seen: dict[str, set[str]] = {"before": set(), "after": set()}

        async def reader(number: int) -> None:
            turns = itertools.cycle([number % 2 == 0, number % 2 == 1])
            after = 0
            while after < READS:
                phase = "after" if migrated.is_set() else "before"
                seen[phase].add(str(await read(engine, readings, next(turns))))
                after += phase == "after"
                await asyncio.sleep(0)

        async def migration() -> None:
            await asyncio.sleep(0.05)
            await migrate(engine, "reading")
            migrated.set()

        await asyncio.gather(migration(), *(reader(number) for number in range(POOL_MAX * 2)))
        return {phase: sorted(outcomes) for phase, outcomes in seen.items()}

    right = str({"value": "float:7.0", "size": "int:7"})
    if schema_change_pair.name == "postgres-cached":
        # A transaction's first read on each connection fails, on either engine (above): how
        # many, and when, depends on timing. What is compared is that no read answers wrong.
        for side in SIDES:
            outcomes = await run(schema_change_pair, side, scenario)
            assert set(outcomes["after"]) - {"InvalidCachedStatementError"} == {right}  # type: ignore[index]
        return
    result = await same_on_both(schema_change_pair, scenario)
    assert result["after"] == [right]
    # int before; float for reads the migration held up; no error anywhere.
    assert len(result["before"]) <= 2


@asynccontextmanager
async def site_on(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A site of the readings feature on `url`, and a client inside its lifespan. Building it
    moves every table to its engine; they are moved back after."""
    settings = msgspec.structs.replace(get_settings(), database_url=url)
    with tables_kept():
        app = await anyio.to_thread.run_sync(lambda: create_app([READINGS], settings))
        async with client_for(app) as client:
            yield client


def _all_tables() -> Iterator[type[Table]]:
    waiting = list(Table.__subclasses__())
    while waiting:
        table = waiting.pop()
        waiting.extend(table.__subclasses__())
        yield table


class tables_kept:
    def __enter__(self) -> None:
        self._engines = {table: table._meta._db for table in _all_tables()}

    def __exit__(self, *_: object) -> None:
        for table, engine in self._engines.items():
            table._meta._db = engine


@pytest.mark.parametrize("connection", ["postgres", "pgbouncer"])
async def test_a_site_keeps_answering_through_a_migration(
    connection: str, app_database_urls: dict[str, str]
) -> None:
    """Requests to a running site, outside and inside transactions, many at once, before,
    during and after the migration: each one answers 200 with the value as stored."""
    async with site_on(app_database_urls[connection]) as client:
        engine = Reading._meta.db
        assert isinstance(engine, PostgresEngine)
        await Reading.alter().drop_table(if_exists=True)
        await Reading.create_table()
        await Reading.insert(Reading(value=7, size=7))
        migrated = asyncio.Event()
        answers: dict[str, list[tuple[int, Any]]] = {"before": [], "after": []}

        async def visitor(number: int) -> None:
            paths = itertools.islice(itertools.cycle(PATHS), number, None)
            after = 0
            while after < READS:
                phase = "after" if migrated.is_set() else "before"
                response = await client.get(next(paths))
                answers[phase].append((response.status_code, response.json()))
                after += phase == "after"

        async def migration() -> None:
            await asyncio.sleep(0.05)
            await migrate(engine, Reading._meta.tablename)
            migrated.set()

        try:
            await asyncio.gather(migration(), *(visitor(number) for number in range(POOL_MAX * 2)))
        finally:
            await Reading.alter().drop_table(if_exists=True)

    right = (200, {"value": [7.0, "float"], "size": [7, "int"]})
    assert answers["after"] == [right] * len(answers["after"])
    assert {status for status, _ in answers["before"]} == {200}
