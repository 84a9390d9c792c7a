"""`.batch()` returns every row exactly once, in chunks, on whichever engine the pass runs; on
SQLite a batch that fails leaves no connection (nor its thread) behind."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from piccolo.columns import Varchar
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

from bandstand.database.sqlite import TunedSQLiteEngine
from tests.support.tables import Band, Manager


async def test_a_filtered_batch_yields_all_its_rows_in_chunks(test_tables: None) -> None:
    # A parameter in the query: Piccolo's own SQLite batch sends PostgreSQL's placeholders.
    manager = (await Manager.insert(Manager(name="Batch")))[0]["id"]
    await Band.insert(Band(name="unmanaged"))
    await Band.insert(*(Band(name=f"b{n:02}", manager=manager) for n in range(23)))
    query = Band.select(Band.name).where(Band.manager == manager).order_by(Band.id)

    chunks = []
    async with await query.batch(batch_size=5) as batches:
        async for rows in batches:
            chunks.append([row["name"] for row in rows])

    assert [len(chunk) for chunk in chunks] == [5, 5, 5, 5, 3]
    assert [name for chunk in chunks for name in chunk] == [f"b{n:02}" for n in range(23)]


async def test_a_batch_inside_a_transaction(test_tables: None, database_kind: str) -> None:
    engine = engine_finder()
    assert engine is not None
    await Manager.insert(Manager(name="committed"))
    async with engine.transaction():
        await Manager.insert(Manager(name="inside"))
        query = Manager.select(Manager.name).order_by(Manager.id)
        async with await query.batch(batch_size=10) as batches:
            names = [row["name"] async for rows in batches for row in rows]

    if database_kind == "postgres":
        # The batch's cursor runs on the transaction's connection: it sees the uncommitted row.
        assert names == ["committed", "inside"]
    else:
        # SQLite's batch reads on a connection of its own, beside the transaction's write lock
        # (WAL lets it): it sees what was committed, and neither waits for the other.
        assert names == ["committed"]


class Missing(Table):
    """Never created: a batch of it fails as it starts."""

    name = Varchar()


@pytest.fixture
def missing_on_sqlite(tmp_path: Path) -> Iterator[TunedSQLiteEngine]:
    # Made outside the event loop: an engine checks the SQLite version as it is made.
    engine = TunedSQLiteEngine(tmp_path / "batch.sqlite3")
    Missing._meta.db = engine
    yield engine
    engine.close_query_threads()
    Missing._meta.db = None  # type: ignore[assignment]


def _connection_threads() -> set[threading.Thread]:
    # aiosqlite runs each connection on a non-daemon thread: left open, it hangs the exit.
    return {thread for thread in threading.enumerate() if not thread.daemon}


async def _threads_left_from(before: set[threading.Thread]) -> set[threading.Thread]:
    """The connection threads started since `before` that are still alive, once there are
    none or after a second: a closed connection's thread ends soon after `close()` returns.
    Threads of `before` are left out, as another test's may end meanwhile."""
    for _ in range(50):
        if not _connection_threads() - before:
            break
        await asyncio.sleep(0.02)
    return _connection_threads() - before


@pytest.mark.engine_independent
async def test_a_failed_sqlite_batch_leaves_no_connection_open(
    missing_on_sqlite: TunedSQLiteEngine,
) -> None:
    before = _connection_threads()
    for _ in range(3):
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            async with await Missing.select().where(Missing.name == "x").batch(batch_size=5):
                pass

    assert await _threads_left_from(before) == set()
