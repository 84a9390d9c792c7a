"""SQLite tuned for a web server: WAL, foreign keys, a long busy timeout, write-safe
transactions, and connections that are kept.

Piccolo's stock `SQLiteEngine` keeps SQLite's defaults (rollback journal, deferred
transactions, a 5 s busy timeout). Under concurrent requests a deferred transaction that reads
and then writes fails at once with "database is locked" — the busy handler cannot help it —
so every transaction here starts `IMMEDIATE`, taking the write lock up front and queueing
politely behind the busy timeout instead.

Stock Piccolo also opens a new connection (and an aiosqlite thread) for every query outside a
transaction and sets a pragma on it: most of a simple query's time. Here such a query runs on
one of `QUERY_THREADS` threads (a write, on one more thread of its own), each with its own
connections (one with Piccolo's type converters, one without for `fetch_stored`), opened once
and kept: the engine's connection pool. The threads are `QueryThreads` (threads.py) rather than
`anyio.to_thread`, whose per-call capacity limiter, checkpoints and hand-off cost more than a
small query itself, or a `ThreadPoolExecutor`, whose futures cost a one-row read much of its CPU
(docs/performance.md has the figures).
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from piccolo.engine.sqlite import (
    AsyncBatch,
    SQLiteEngine,
    SQLiteTransaction,
    TransactionType,
    convert_int_out,
    convert_timestamptz_out,
)
from piccolo.query.base import Query
from piccolo.table import Table

from bandstand.database.threads import QueryThreads
from bandstand.database.transactions import end_transaction

BUSY_TIMEOUT_SECONDS = 30.0
# Threads (so connections) for queries outside transactions: readers run side by side in WAL
# mode; more would mostly queue on the GIL.
QUERY_THREADS = 4
# Writes outside transactions go to one more thread of their own: SQLite takes one writer at a
# time, and writers on several threads queued on its busy handler, which sleeps in steps of
# up to 100 ms: the slowest registrations waited many times the typical one.
WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes(query: str) -> bool:
    # Only where the query runs depends on it: a write sent to the readers still works.
    return query.lstrip()[:6].upper() in WRITES


# Statements that SQLite checks against the schema again when they run. It looks anything else
# up in the connection's cached schema as it prepares it — whether a table or an index exists,
# which indexes a PRAGMA lists — and a kept connection's cache may be older than a change made
# on another connection: `indexes()` listed none after `create_index()`, and a recreated table's
# index "already existed".
PLAIN = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES", "REPLACE"})
# Reading the schema table makes SQLite compare its cached schema with the file's, and reload it.
SCHEMA_CHECK = "SELECT 1 FROM sqlite_master LIMIT 0"


_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")


def _plain(query: str) -> bool:
    word = _FIRST_WORD.match(query)
    return word is not None and word[1].upper() in PLAIN


def _schema_version(connection: sqlite3.Connection) -> int:
    """The schema's version in the file, which every change to the schema increments."""
    return int(connection.execute("PRAGMA schema_version").fetchone()[0])


Result = TypeVar("Result")


def integer_out(value: bytes) -> int:
    """An INTEGER column's value: what Piccolo's converter gives, without parsing every
    number through `Decimal` (the most of a small query's conversion time)."""
    try:
        return int(value)
    except ValueError:  # "1.0" and the like, which SQLite lets an INTEGER column hold
        return cast(int, convert_int_out(value))


# Converters are global to the sqlite3 module; importing Piccolo's engine registered its own.
sqlite3.register_converter("INTEGER", integer_out)


def stored_value_reader(column_type: str) -> Callable[[Any], Any] | None:
    """For a column declared `column_type`: what makes a value read as SQLite stores it into
    the value Piccolo's engine gives (its converter, fed the text SQLite would feed it), or
    None when the two are the same."""
    match = _TYPE_NAME.match(column_type)
    name = match.group().upper() if match else ""
    converter = sqlite3.converters.get(name)
    # INTEGER affinity stores every whole number as an integer, which sqlite3 reads as an int.
    if converter is None or name == "INTEGER":
        return None
    # Piccolo's converters take bytes or text; skip the wrapper that decodes the bytes.
    convert: Callable[[Any], Any] = getattr(converter, "__wrapped__", converter)

    def read(value: Any) -> Any:
        if value is None:
            return None
        return convert(value if type(value) is str else _as_sqlite_text(value))

    if converter is convert_timestamptz_out:
        return _utc_timestamp_reader(read)
    if name in _REPEATING_TYPES:
        return _remembering_reader(read)
    return read


def _utc_timestamp_reader(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Piccolo's TIMESTAMPTZ converter parses the text and labels it UTC. Piccolo writes UTC
    ("+00:00"), which parses as UTC already: `replace(tzinfo=...)` was most of the cost."""

    def read_utc(value: Any) -> Any:
        if type(value) is str:
            parsed = datetime.datetime.fromisoformat(value)
            if parsed.tzinfo is datetime.UTC:
                return parsed
        return read(value)

    return read_utc


# Types whose values repeat across rows (prices), read as stored (a float for NUMERIC).
_REPEATING_TYPES = frozenset({"NUMERIC", "DECIMAL"})
_REMEMBERED = 4096


def _remembering_reader(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`read`, remembering what each float gave: a float's SQLite text (`_as_sqlite_text`)
    and its Decimal cost more than the rest of a row. The converters are pure and a Decimal
    is immutable, so a remembered one can be shared."""
    remembered: dict[float, Any] = {}

    def read_remembered(value: Any) -> Any:
        # Not zero: 0.0 and -0.0 are one key, and read into different Decimals.
        if type(value) is not float or not value:
            return read(value)
        result = remembered.get(value)
        if result is None:
            if len(remembered) >= _REMEMBERED:
                remembered.clear()
            result = remembered[value] = read(value)
        return result

    return read_remembered


# sqlite3 looks a converter up by the declared type's first word.
_TYPE_NAME = re.compile(r"[^\s(]+")


def _as_sqlite_text(value: Any) -> str:
    """The text a converter gets for `value`: SQLite's own rendering of a REAL ("%!.15g")."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, float):
        mantissa, e, exponent = f"{value:.15g}".partition("e")
        if mantissa.lstrip("-").isdigit():
            mantissa += ".0"
        return f"{mantissa}{e}{exponent}"
    return str(value)


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
    engine: TunedSQLiteEngine
    # Whether a statement in it may have changed the schema (see `PLAIN`).
    changed_schema = False

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
        # A nested transaction is its parent's (`__aenter__` returned the parent): it has no
        # connection of its own, and `end_transaction` leaves it alone.
        try:
            return await end_transaction(self, exception, lambda: self.connection.close())
        finally:
            if self.changed_schema:  # committed (or not): the kept connections look again
                self.engine.schema_changed()


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
        # Bumped after each statement that may have changed the schema: a kept connection that
        # saw an older one checks its cached schema before its next statement (see `PLAIN`).
        self._schema_changes = itertools.count(1)
        self._schema = 0
        self._query_threads: QueryThreads | None = None
        self._write_thread: QueryThreads | None = None
        # Piccolo's own queries wait for a free thread here, not in the threads' queue: with
        # a thousand chat streams, a queue there held more memory. Compiled queries (small,
        # fixed-shape, the hot pages) queue for the threads: waking a waiter here cost a
        # one-row read much of its CPU under many connections (docs/performance.md).
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
        loop = asyncio.get_running_loop()
        free = self._free_threads.get(loop)
        if free is None:  # one per event loop: a semaphore is bound to the loop that uses it
            free = self._free_threads[loop] = asyncio.Semaphore(QUERY_THREADS)
        async with free:
            return await self._on_query_thread(
                _writes(query), self._run_on_thread_connection, query, args or []
            )

    def stored_value_reader(self, column_type: str) -> Callable[[Any], Any] | None:
        """`stored_value_reader`: how the caller of `fetch_stored` converts a column's values."""
        return stored_value_reader(column_type)

    async def fetch_stored(
        self, query: str, args: Sequence[Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The column names and rows of `query`, outside any transaction, with the values as
        SQLite stores them: no converter runs on the query thread. The caller converts the
        columns that need it (`stored_value_reader`), on the event loop, in one pass.

        Converters run per value while the query thread holds the GIL, between the row steps
        that release it; with a few queries in flight that tug of war cost a page of rows
        more CPU than the query itself (docs/performance.md)."""
        return await self._on_query_thread(
            _writes(query), self._fetch_stored_on_thread, query, args
        )

    async def _on_query_thread(
        self, write: bool, work: Callable[..., Result], *args: Any
    ) -> Result:
        if write:
            if self._write_thread is None:
                self._write_thread = QueryThreads(1, "sqlite-write")
            threads = self._write_thread
        else:
            if self._query_threads is None:
                self._query_threads = QueryThreads(QUERY_THREADS, "sqlite-query")
            threads = self._query_threads
        return await threads.run(work, *args)

    def close_query_threads(self) -> None:
        """Let the query threads (and their connections) end; the next query starts new ones."""
        for threads in (self._query_threads, self._write_thread):
            if threads is not None:
                threads.shutdown()
        self._query_threads = self._write_thread = None

    def schema_changed(self) -> None:
        """Make every kept connection check its cached schema before its next statement."""
        self._schema = next(self._schema_changes)

    def _thread_connection(self, kind: str, plain: bool) -> sqlite3.Connection:
        """This thread's kept connection of `kind`, its cached schema current for a statement
        that is `plain` (see `PLAIN`) or not."""
        kept = self._connections
        schema = self._schema
        connection: sqlite3.Connection | None = getattr(kept, kind, None)
        if connection is None:
            arguments = dict(self.connection_kwargs, check_same_thread=True)
            if kind == "stored":
                del arguments["detect_types"]
            connection = sqlite3.connect(**arguments)
            setattr(kept, kind, connection)
            setattr(kept, f"{kind}_version", _schema_version(connection))
        elif not plain or getattr(kept, f"{kind}_schema") != schema:
            connection.execute(SCHEMA_CHECK)
        setattr(kept, f"{kind}_schema", schema)
        return connection

    def _execute_kept(self, kind: str, query: str, args: Sequence[Any]) -> sqlite3.Cursor:
        """`query` run on this thread's kept connection of `kind`, its cached schema current."""
        plain = _plain(query)
        connection = self._thread_connection(kind, plain)
        try:
            return connection.execute(query, args)
        except sqlite3.OperationalError:
            # Prepared against a schema another process changed since, a plain query can fail
            # without SQLite looking again — an upsert naming a unique index made since — until
            # some other query runs. Look, and run it again if the schema had changed: a failed
            # statement in autocommit left nothing behind.
            if not plain or not self._schema_moved(kind, connection):
                raise
            return connection.execute(query, args)
        finally:
            if not plain:
                self.schema_changed()

    def _schema_moved(self, kind: str, connection: sqlite3.Connection) -> bool:
        """Whether the schema changed since this connection last looked; it looks again."""
        version = _schema_version(connection)
        if getattr(self._connections, f"{kind}_version") == version:
            return False
        connection.execute(SCHEMA_CHECK)
        setattr(self._connections, f"{kind}_version", version)
        return True

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        transaction = self.current_transaction.get()
        if not _plain(query) and isinstance(transaction, WriteSafeTransaction):
            transaction.changed_schema = True
        return await super()._run_in_existing_connection(connection, query, args, query_type, table)

    def _run_on_thread_connection(self, query: str, args: list[Any]) -> list[dict[str, Any]]:
        # Autocommit (isolation_level=None): a write is committed when execute returns.
        cursor = self._execute_kept("converting", query, args)
        rows = cursor.fetchall()
        if not rows:
            return []
        # Piccolo's dicts, built as its `dict_factory` would but with the names read once per
        # query, not once per row: this runs on a worker thread, holding the GIL.
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _fetch_stored_on_thread(
        self, query: str, args: Sequence[Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self._execute_kept("stored", query, args)
        rows = cursor.fetchall()
        return [column[0] for column in cursor.description or ()], rows

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
