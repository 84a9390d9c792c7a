"""SQLite tuned for a web server: WAL, foreign keys, a long busy timeout, write-safe
transactions, and connections that are kept.

Piccolo's stock `SQLiteEngine` keeps SQLite's defaults (rollback journal, deferred
transactions, a 5 s busy timeout). Under concurrent requests a deferred transaction that reads
and then writes fails at once with "database is locked" — the busy handler cannot help it —
so every transaction here starts `IMMEDIATE`, taking the write lock up front and queueing
politely behind the busy timeout instead.

Stock Piccolo also opens a new connection (and an aiosqlite thread) for every query outside a
transaction and sets a pragma on it: most of a simple query's time. Here such a query runs on
one of `QUERY_THREADS` threads, each with its own connection, opened once and kept: the
engine's connection pool. The threads are a standard `ThreadPoolExecutor` rather than
`anyio.to_thread`, whose per-call capacity limiter, checkpoints and hand-off cost more than a
small query itself and halved a one-row endpoint's throughput (see bench/).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from piccolo.engine.sqlite import (
    AsyncBatch,
    SQLiteEngine,
    SQLiteTransaction,
    TransactionType,
    convert_int_out,
)
from piccolo.query.base import Query
from piccolo.table import Table

from project.database.transactions import end_transaction

BUSY_TIMEOUT_SECONDS = 30.0
# Threads (so connections) for queries outside transactions: readers run side by side in WAL
# mode; more would mostly queue on the GIL.
QUERY_THREADS = 4


def integer_out(value: bytes) -> int:
    """An INTEGER column's value: what Piccolo's converter gives, without parsing every
    number through `Decimal` (the most of a small query's conversion time)."""
    try:
        return int(value)
    except ValueError:  # "1.0" and the like, which SQLite lets an INTEGER column hold
        return cast(int, convert_int_out(value))


# Converters are global to the sqlite3 module; importing Piccolo's engine registered its own.
sqlite3.register_converter("INTEGER", integer_out)


class TunedConnection(sqlite3.Connection):
    """Every connection (kept by a worker thread, or one per transaction) gets these pragmas."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # WAL lets readers run while a writer commits; NORMAL sync is durable across app
        # crashes in WAL mode and only loses the last commits on power loss.
        self.execute("PRAGMA journal_mode = WAL")
        self.execute("PRAGMA synchronous = NORMAL")
        self.execute("PRAGMA foreign_keys = ON")


class WriteSafeTransaction(SQLiteTransaction):
    async def __aenter__(self) -> WriteSafeTransaction:
        if self._parent is not None:
            return cast(WriteSafeTransaction, self._parent)
        self.connection = await self.get_connection()
        try:
            await self.begin()
        except BaseException:
            # Piccolo leaks the connection (and aiosqlite's thread) when BEGIN fails.
            await self.connection.close()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        return await end_transaction(self, exception, self.connection.close)


class SQLiteBatch(AsyncBatch):
    """Piccolo's batch with two fixes: SQLite placeholders, and no leaked connection on error.

    Piccolo 1.38 compiles the query with PostgreSQL's `$1` placeholders and passes parameters
    unpacked, so a filtered `.batch()` fails on SQLite — leaving its connection, and
    aiosqlite's non-daemon thread, open until the process hangs at exit.
    """

    async def __aenter__(self) -> Self:
        template, args = self.query.querystrings[0].compile_string(engine_type="sqlite")
        try:
            self._cursor = await self.connection.execute(template, args)
        except BaseException:
            await self.connection.close()
            raise
        return self


class TunedSQLiteEngine(SQLiteEngine):
    def __init__(self, path: Path, *, log_queries: bool = False) -> None:
        super().__init__(
            path=str(path),
            log_queries=log_queries,
            timeout=BUSY_TIMEOUT_SECONDS,
            factory=TunedConnection,
        )
        self._connections = threading.local()
        self._query_threads: ThreadPoolExecutor | None = None
        # A query waits for a free thread here, not in the executor's unbounded queue: with
        # a thousand chat streams writing, a queue there held a quarter more memory.
        self._free_threads: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> list[dict[str, Any]]:
        if query_type == "insert" and self.get_version_sync() < 3.35:
            # No RETURNING before 3.35: Piccolo's own path reads the new key back.
            return cast(
                list[dict[str, Any]],
                await super()._run_in_new_connection(query, args, query_type, table),
            )
        if self._query_threads is None:
            self._query_threads = ThreadPoolExecutor(QUERY_THREADS, "sqlite-query")
        loop = asyncio.get_running_loop()
        free = self._free_threads.get(loop)
        if free is None:  # one per event loop: a semaphore is bound to the loop that uses it
            free = self._free_threads[loop] = asyncio.Semaphore(QUERY_THREADS)
        async with free:
            return await loop.run_in_executor(
                self._query_threads, self._run_on_thread_connection, query, args or []
            )

    def close_query_threads(self) -> None:
        """Let the query threads (and their connections) end; the next query starts new ones."""
        if self._query_threads is not None:
            self._query_threads.shutdown(wait=False)
            self._query_threads = None

    def _run_on_thread_connection(self, query: str, args: list[Any]) -> list[dict[str, Any]]:
        connection: sqlite3.Connection | None = getattr(self._connections, "connection", None)
        if connection is None:
            connection = sqlite3.connect(**self.connection_kwargs, check_same_thread=True)
            self._connections.connection = connection
        # Autocommit (isolation_level=None): a write is committed when execute returns.
        cursor = connection.execute(query, args)
        rows = cursor.fetchall()
        if not rows:
            return []
        # Piccolo's dicts, built as its `dict_factory` would but with the names read once per
        # query, not once per row: this runs on a worker thread, holding the GIL.
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.immediate,
        allow_nested: bool = True,
    ) -> WriteSafeTransaction:
        return WriteSafeTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def batch(
        self, query: Query[Any, Any], batch_size: int = 100, node: str | None = None
    ) -> SQLiteBatch:
        return SQLiteBatch(
            connection=await self.get_connection(), query=query, batch_size=batch_size
        )

    def atomic(self, transaction_type: TransactionType = TransactionType.immediate) -> Any:
        return super().atomic(transaction_type=transaction_type)
