import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from piccolo.engine.sqlite import TransactionType

from bandstand.database.sqlite import (
    BUSY_TIMEOUT_SECONDS,
    QUERY_THREADS,
    TunedConnection,
    TunedSQLiteEngine,
)

pytestmark = pytest.mark.engine_independent

PRAGMAS = "SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_busy_timeout"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[TunedSQLiteEngine]:
    engine = TunedSQLiteEngine(tmp_path / "tuned.sqlite3")
    yield engine
    engine.close_query_threads()


async def test_wal_foreign_keys_and_busy_timeout_are_on(engine: TunedSQLiteEngine) -> None:
    expected = {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "timeout": int(BUSY_TIMEOUT_SECONDS * 1000),
    }
    assert await engine.run_ddl(PRAGMAS) == [expected]
    async with engine.transaction():
        assert await engine.run_ddl(PRAGMAS) == [expected]


async def test_foreign_keys_are_enforced(engine: TunedSQLiteEngine) -> None:
    await engine.run_ddl("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    await engine.run_ddl(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent)"
    )
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await engine.run_ddl("INSERT INTO child (parent) VALUES (42)")


async def test_transactions_take_the_write_lock_up_front(engine: TunedSQLiteEngine) -> None:
    assert engine.transaction().transaction_type is TransactionType.immediate


async def test_failed_begin_does_not_leak_the_connection_thread(
    engine: TunedSQLiteEngine, tmp_path: Path
) -> None:
    await engine.run_ddl("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    engine.connection_kwargs["timeout"] = 0.05
    done = asyncio.Event()
    locked = asyncio.Event()

    async def hold_write_lock() -> None:
        async with engine.transaction():
            await engine.run_ddl("INSERT INTO t DEFAULT VALUES")
            locked.set()
            await done.wait()

    holder = asyncio.create_task(hold_write_lock())
    await locked.wait()
    threads_before = threading.active_count()
    for _ in range(5):
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with engine.transaction():
                pass
    await asyncio.sleep(0.1)
    assert threading.active_count() == threads_before
    done.set()
    await holder


async def test_queries_outside_transactions_reuse_a_few_kept_connections(
    engine: TunedSQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[int] = []
    original = TunedConnection.__init__

    def counting(self: TunedConnection, *args: object, **kwargs: object) -> None:
        opened.append(threading.get_ident())
        original(self, *args, **kwargs)

    monkeypatch.setattr(TunedConnection, "__init__", counting)
    await engine.run_ddl("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")

    await asyncio.gather(*(engine.run_ddl(f"INSERT INTO t (n) VALUES ({n})") for n in range(200)))
    rows = await asyncio.gather(*(engine.run_ddl("SELECT COUNT(*) AS c FROM t") for _ in range(50)))

    assert rows[-1] == [{"c": 200}]
    # Stock Piccolo opens one per query: 251 here. The writes have a thread of their own.
    assert 1 <= len(opened) <= QUERY_THREADS + 1
    assert len(set(opened)) == len(opened)  # one per thread


async def test_writes_outside_transactions_run_on_one_thread_of_their_own(
    engine: TunedSQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await engine.run_ddl("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    ran: list[tuple[str, str]] = []
    run = engine._run_on_thread_connection

    def recording(query: str, args: list[object]) -> list[dict[str, object]]:
        ran.append((query.split()[0], threading.current_thread().name))
        return run(query, args)

    monkeypatch.setattr(engine, "_run_on_thread_connection", recording)
    await asyncio.gather(
        *(engine.run_ddl(f"INSERT INTO t (n) VALUES ({n})") for n in range(100)),
        *(engine.run_ddl(f"UPDATE t SET n = n + 1 WHERE id = {n}") for n in range(100)),
        *(engine.run_ddl("SELECT COUNT(*) FROM t") for _ in range(100)),
    )

    # One writer at a time, so none waits in SQLite's busy handler; reads run side by side.
    assert {thread for verb, thread in ran if verb != "SELECT"} == {"sqlite-write_0"}
    readers = {thread for verb, thread in ran if verb == "SELECT"}
    assert readers
    assert all(thread.startswith("sqlite-query") for thread in readers)
    assert await engine.run_ddl("SELECT COUNT(*) AS c FROM t") == [{"c": 100}]


async def test_a_kept_connection_survives_a_failed_statement(engine: TunedSQLiteEngine) -> None:
    await engine.run_ddl("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER UNIQUE)")
    await engine.run_ddl("INSERT INTO t (n) VALUES (1)")

    for _ in range(QUERY_THREADS * 2):
        with pytest.raises(sqlite3.IntegrityError):
            await engine.run_ddl("INSERT INTO t (n) VALUES (1)")

    # Writes outside a transaction are committed at once: a transaction's connection sees them.
    await engine.run_ddl("INSERT INTO t (n) VALUES (2)")
    async with engine.transaction():
        assert await engine.run_ddl("SELECT n FROM t ORDER BY n") == [{"n": 1}, {"n": 2}]
