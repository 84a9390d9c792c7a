"""Concurrent writes through the app's own engine, on whichever database the pass runs."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

from tests.support.tables import Band, Manager

WRITERS = 100


@pytest.fixture
async def engine(test_tables: None) -> AsyncIterator[Engine[Any]]:
    """The run's engine as the app runs it: on PostgreSQL with its pool started, as the app's
    lifespan does (without one, each query opens a connection of its own)."""
    engine = engine_finder()
    assert engine is not None
    if not isinstance(engine, PostgresEngine):
        yield engine
        return
    await engine.start_connection_pool()
    try:
        yield engine
    finally:
        await engine.close_connection_pool()


async def test_concurrent_read_then_write_transactions_never_lock(engine: Engine[Any]) -> None:
    manager = (await Manager.insert(Manager(name="Counters")))[0]["id"]
    counter = (await Band.insert(Band(name="counter", manager=manager)))[0]["id"]

    async def increment(n: int) -> None:
        async with engine.transaction():
            # Read first, then write: the case where a deferred SQLite transaction fails at once.
            await Band.select(Band.popularity).where(Band.id == counter).first()
            await Band.update({Band.popularity: Band.popularity + 1}).where(Band.id == counter)
            await Band.insert(Band(name=f"row {n}", manager=manager))

    results = await asyncio.gather(*(increment(n) for n in range(WRITERS)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    row = await Band.select(Band.popularity).where(Band.id == counter).first()
    assert row is not None
    assert row["popularity"] == WRITERS
    assert await Band.count() == WRITERS + 1


async def test_concurrent_single_statement_writes_never_lock(engine: Engine[Any]) -> None:
    manager = (await Manager.insert(Manager(name="Plain")))[0]["id"]

    async def insert(n: int) -> None:
        await Band.insert(Band(name=f"b{n}", manager=manager))

    results = await asyncio.gather(*(insert(n) for n in range(WRITERS)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await Band.count() == WRITERS


async def test_a_failed_transaction_leaves_the_database_as_it_was(engine: Engine[Any]) -> None:
    async def insert_twice() -> None:
        async with engine.transaction():
            await Manager.insert(Manager(name="Ghost"))
            await Band.insert(Band(name="Ghost"))
            await Band.insert(Band(name="Ghost"))  # unique: fails

    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await insert_twice()
    assert await Band.count() == 0
    assert await Manager.count() == 0
