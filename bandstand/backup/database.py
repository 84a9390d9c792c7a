"""The engine-specific parts: a consistent read, insert sizes, and PostgreSQL's sequences."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from piccolo.columns import Serial
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

# Bound parameters per statement: PostgreSQL takes 32,767, SQLite 32,766 since 3.32 and 999
# before.
MAX_PARAMETERS = 30_000 if sqlite3.sqlite_version_info >= (3, 32) else 999


@asynccontextmanager
async def snapshot(engine: Engine[Any]) -> AsyncIterator[None]:
    """One transaction that sees the database as it was when it began, without blocking the
    app's writers, so every row a child table refers to is in the backup."""
    if isinstance(engine, SQLiteEngine):
        # Deferred: a read snapshot from the first select on (WAL), no write lock.
        async with engine.transaction(transaction_type=TransactionType.deferred):
            yield
    elif isinstance(engine, PostgresEngine):
        async with engine.transaction():
            await engine.run_ddl("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    else:
        async with engine.transaction():
            yield


def rows_per_insert(columns: int) -> int:
    return max(1, MAX_PARAMETERS // max(1, columns))


async def reset_sequences(engine: Engine[Any], tables: list[type[Table]]) -> None:
    """After rows came in with their own ids, make each serial primary key's sequence continue
    after the largest, so the next insert doesn't collide (PostgreSQL only: SQLite derives the
    next rowid from the table)."""
    if not isinstance(engine, PostgresEngine):
        return
    for table in tables:
        key = table._meta.primary_key
        if not isinstance(key, Serial):
            continue
        name = table._meta.tablename
        column = key._meta.db_column_name
        # The names are the code's own, never input.
        largest = f'(SELECT MAX("{column}") FROM "{name}")'  # noqa: S608
        # is_called=false: the next value is exactly max + 1, or 1 for an empty table.
        await table.raw(
            f"SELECT setval(pg_get_serial_sequence({{}}, {{}}), COALESCE({largest}, 0) + 1, false)",
            f'"{name}"',
            column,
        )
