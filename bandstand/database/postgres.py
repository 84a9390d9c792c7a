"""PostgreSQL on asyncpg: safe behind transaction-mode poolers, quick to start without a server.

What the stock `PostgresEngine` does that this one doesn't:
- connect at construction (import time) to check the server version — a silent database
  then stalls `import piccolo_conf` for asyncpg's connect timeout;
- create extensions at start-up, which restricted managed databases refuse;
- wait forever for a pooled connection when the pool is exhausted, and let a newcomer take one
  ahead of those already waiting;
- send a reset query each time a connection goes back to the pool;
- run `.batch()` on a protocol-level named cursor on its own connection, which leaks named
  prepared statements onto a pooler's shared server connections.
"""

from __future__ import annotations

import asyncio
import itertools
from types import TracebackType
from typing import Any, Self, cast

from asyncpg import Connection
from piccolo.engine.base import BaseBatch
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.query.base import Query

from bandstand.database.statements import DescribedStatementsConnection
from bandstand.database.transactions import end_transaction
from bandstand.database.url import PostgresDatabase

POOL_ACQUIRE_TIMEOUT_SECONDS = 10.0

_cursor_ids = itertools.count()


class BoundedTransaction(PostgresTransaction):
    engine: PoolerSafePostgresEngine

    async def get_connection(self) -> Connection:
        return await self.engine.acquire()

    async def __aenter__(self) -> BoundedTransaction:
        if self._parent is not None:
            return cast(BoundedTransaction, self._parent)
        self.connection = await self.get_connection()
        self.transaction = self.connection.transaction()
        try:
            await self.begin()
        except BaseException:
            # Piccolo would keep the connection out of the pool for good.
            await self.engine.release(self.connection)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        return await end_transaction(self, exception, lambda: self.engine.release(self.connection))


class SQLCursorBatch(BaseBatch):
    """`.batch()` through a SQL-level cursor inside a transaction on a pooled connection.

    `DECLARE ... CURSOR` and `FETCH` are plain statements, sent unnamed like every other
    query when the statement cache is off, and a transaction pins the server connection
    behind a transaction-mode pooler — so batching works through PgBouncer as well.
    """

    def __init__(self, engine: PoolerSafePostgresEngine, query: Query[Any, Any], batch_size: int):
        self.engine = engine
        self.query = query
        self.batch_size = int(batch_size)
        # Unique, so that batches nested in one transaction don't collide.
        self.cursor_name = f"bandstand_batch_{next(_cursor_ids)}"

    async def __aenter__(self) -> Self:
        self._transaction = self.engine.transaction()
        self._connection = (await self._transaction.__aenter__()).connection
        template, args = self.query.querystrings[0].compile_string()
        try:
            await self._connection.execute(
                f"DECLARE {self.cursor_name} NO SCROLL CURSOR FOR {template}", *args
            )
        except BaseException as error:
            # Roll back and give the connection back to the pool.
            await self._transaction.__aexit__(type(error), error, error.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if exception is None:
            await self._connection.execute(f"CLOSE {self.cursor_name}")
        await self._transaction.__aexit__(exception_type, exception, traceback)
        return False

    async def next(self) -> list[dict[str, Any]]:
        rows = await self._connection.fetch(
            f"FETCH FORWARD {self.batch_size} FROM {self.cursor_name}"
        )
        return await self.query._process_results(rows)  # type: ignore[no-any-return]

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> list[dict[str, Any]]:
        rows = await self.next()
        if not rows:
            raise StopAsyncIteration
        return rows


async def keep_session(connection: Connection) -> None:
    """The pool's reset for a released connection: nothing more than asyncpg's own step before it,
    which rolls back a transaction left open.

    asyncpg's default also sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`: a round trip on every release, so on every query outside a transaction
    (docs/performance.md has what it cost). Nothing here leaves
    session state behind (its settings, advisory locks and cursors last as long as their
    transaction), and behind a transaction-mode pooler the reset ran on whichever server
    connection was free, never the one it meant to clean. SQLAlchemy's pool, which the stacks
    Bandstand replaces use, does the same: roll back, nothing else (docs/database.md).
    """


class PoolerSafePostgresEngine(PostgresEngine):
    def __init__(
        self,
        database: PostgresDatabase,
        *,
        pool_min: int,
        pool_max: int,
        acquire_timeout: float = POOL_ACQUIRE_TIMEOUT_SECONDS,
        log_queries: bool = False,
    ) -> None:
        self.database = database
        self.pool_min = pool_min
        self.pool_max = pool_max
        self.acquire_timeout = acquire_timeout
        self._turns = asyncio.Semaphore(pool_max)
        super().__init__(
            config={**database.connect_kwargs, "connection_class": DescribedStatementsConnection},
            extensions=(),
            log_queries=log_queries,
        )

    async def check_version(self) -> None:
        """Skip Piccolo's connect-at-import check: start-up must not wait on the database."""

    async def start_connection_pool(self, **kwargs: Any) -> None:
        # The turns belong to the pool, on the event loop the pool is started on: a semaphore
        # that once made a task wait stays bound to that loop (a test's, a CLI command's).
        self._turns = asyncio.Semaphore(self.pool_max)
        # With min_size=0 the pool connects lazily, so the app starts while the database is down.
        await super().start_connection_pool(
            **{
                "min_size": self.pool_min,
                "max_size": self.pool_max,
                "reset": keep_session,
                **kwargs,
            }
        )

    async def acquire(self) -> Connection:
        if self.pool is None:
            return await self.get_new_connection()
        # Not acquire(timeout=...): on Python 3.11 that wraps every acquire in a new task.
        async with asyncio.timeout(self.acquire_timeout):
            # Waiting here, first come first served: the pool's own queue lets a newcomer take
            # a connection that was handed to a waiter, whose turn then goes to the back.
            await self._turns.acquire()
            try:
                return await self.pool.acquire()
            except BaseException:
                self._turns.release()
                raise

    async def release(self, connection: Connection) -> None:
        if self.pool is None:
            await connection.close()
            return
        try:
            await self.pool.release(connection)
        finally:
            self._turns.release()

    async def _run_in_pool(self, query: str, args: Any = None) -> Any:
        connection = await self.acquire()
        try:
            return await connection.fetch(query, *(args or ()))
        finally:
            await self.release(connection)

    def transaction(self, allow_nested: bool = True) -> BoundedTransaction:
        return BoundedTransaction(engine=self, allow_nested=allow_nested)

    async def batch(  # type: ignore[override]
        self, query: Query[Any, Any], batch_size: int = 100, node: str | None = None
    ) -> SQLCursorBatch:
        if node is not None:
            raise ValueError("extra database nodes are not configured in Bandstand")
        return SQLCursorBatch(self, query, batch_size)
