"""Hot queries planned once per server connection, even behind a transaction-mode pooler.

With the statement cache off — the safe default, since a transaction-mode pooler doesn't keep
named statements — PostgreSQL parses and plans every query it is sent. For a page of products
(a join and two subqueries) planning cost the server more than running the query did: the
cache's absence cost the page a quarter of its throughput (docs/database.md).

A PL/pgSQL function keeps the plans of the queries in its body for the life of the server
connection that runs it, whichever client that connection is serving, so a compiled query made
with `routine=True` is created once as a function named after a hash of its SQL and types, and
each run calls it: `SELECT * FROM bandstand_<hash>($1, ...)`, an unnamed statement that is cheap
to plan. Only read-only queries (selects) are routines, so a call that failed can be retried.

The function is made on first use, from what Describe says of the query's parameters and
columns; one that is missing (dropped by hand: that is always safe) or no longer matches its
tables is made again. A role that may not create functions runs the plain query.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from project.database.postgres import PoolerSafePostgresEngine

logger = logging.getLogger(__name__)

PREFIX = "bandstand_"
QUOTE = "$bandstand$"
# What a routine's call raises when its function is gone or no longer matches its query's
# tables: made again and called again (a select, so the retry repeats nothing).
STALE = (asyncpg.UndefinedFunctionError, asyncpg.DatatypeMismatchError)

Result = TypeVar("Result")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _type(described: Any) -> str:
    return f"{_identifier(described.schema)}.{_identifier(described.name)}"


class Routine:
    """The function that runs one select, made on first use."""

    def __init__(self, engine: PoolerSafePostgresEngine, sql: str) -> None:
        self.engine = engine
        self.sql = sql
        self._call: str | None = None
        self._making = asyncio.Lock()

    @staticmethod
    def wanted(engine: object) -> bool:
        """Whether queries on `engine` are planned afresh on each run (the cache off)."""
        return isinstance(engine, PoolerSafePostgresEngine) and not engine.config.get(
            "statement_cache_size"
        )

    async def call(self) -> str:
        """The SQL that runs the query: its function's call, or the query itself where no
        function can be made."""
        if self._call is None:
            async with self._making:
                if self._call is None:
                    self._call = await self._make()
        return self._call

    async def run(
        self, execute: Callable[[str], Awaitable[Result]], in_transaction: bool
    ) -> Result:
        """`execute(sql)` with the call's SQL; once more, with the function made again, if it
        was stale — but not in a transaction, which the error aborted."""
        if self._call is None and in_transaction:
            # Making the function takes a connection of the pool, which may be waiting for this
            # transaction to end; the next run outside one makes it.
            return await execute(self.sql)
        sql = await self.call()
        try:
            return await execute(sql)
        except STALE:
            if sql == self.sql:
                raise
            self._call = None
            if in_transaction:
                raise
        return await execute(await self.call())

    async def _make(self) -> str:
        if QUOTE in self.sql:
            return self.sql
        connection = await self.engine.acquire()
        try:
            # Unnamed with the cache off, so safe behind a pooler.
            statement = await connection.prepare(self.sql)
            parameters = [_type(parameter) for parameter in statement.get_parameters()]
            columns = [
                f"{_identifier(column.name)} {_type(column.type)}"
                for column in statement.get_attributes()
            ]
            digest = hashlib.sha256(
                "\0".join([self.sql, *parameters, *columns]).encode()
            ).hexdigest()
            name = PREFIX + digest[:24]
            arguments = ", ".join(f"${number}" for number in range(1, len(parameters) + 1))
            if not await connection.fetchval("SELECT to_regproc($1) IS NOT NULL", name):
                await self._create(connection, name, parameters, columns)
        except asyncpg.PostgresError as error:
            # The server's refusal (no CREATE on the schema, a read-only server) is for good.
            logger.warning("a query will be planned on every run: no function for it: %s", error)
            return self.sql
        finally:
            await self.engine.release(connection)
        return f"SELECT * FROM {_identifier(name)}({arguments})"  # noqa: S608 - no values in it

    async def _create(
        self, connection: asyncpg.Connection, name: str, parameters: list[str], columns: list[str]
    ) -> None:
        # The body names columns that are also the result's names: they mean the columns.
        definition = (
            f"CREATE FUNCTION {_identifier(name)}({', '.join(parameters)}) "
            f"RETURNS TABLE({', '.join(columns)}) LANGUAGE plpgsql STABLE AS {QUOTE}\n"
            f"#variable_conflict use_column\nBEGIN\nRETURN QUERY {self.sql};\nEND\n{QUOTE}"
        )
        # Another process may make it at the same time: its name is its content's hash.
        with contextlib.suppress(asyncpg.DuplicateFunctionError, asyncpg.UniqueViolationError):
            await connection.execute(definition)
