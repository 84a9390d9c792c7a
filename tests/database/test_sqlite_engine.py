import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from piccolo.engine.sqlite import TransactionType

from project.database.sqlite import BUSY_TIMEOUT_SECONDS, TunedSQLiteEngine

pytestmark = pytest.mark.engine_independent

PRAGMAS = "SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_busy_timeout"


@pytest.fixture
def engine(tmp_path: Path) -> TunedSQLiteEngine:
    return TunedSQLiteEngine(tmp_path / "tuned.sqlite3")


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
