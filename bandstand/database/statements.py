"""Statements with the cache off that PostgreSQL plans no more often than with it on.

With the statement cache off — the only setting a transaction-mode pooler survives, since its
server connections are shared and asyncpg names its statements `__asyncpg_stmt_N__`, a name that
means a different query on each client — asyncpg pays two round trips per query (Parse/Describe
to learn the types, then Parse/Bind/Execute) and the server parses and plans every run. For a
page of products planning cost the server more than running the query did (docs/database.md).

This connection names a statement after a hash of its query and of the types Describe gave:
whichever server connection holds that name, it means that query, so a pooler can't mix them
up. Outside a transaction a query it has run before is sent as Bind/Execute of that name, in
one round trip, and the server reuses its plan as with the cache on. A server connection that
hasn't got the name (a pooler handed another, or a new one) answers "does not exist" (26000,
before anything ran): the name is made there, in a transaction, which pins one server
connection behind a pooler — Close first, in case another client made it already — and the
query runs in it. A schema change that alters a result's types makes the server refuse the old
statement (0A000); the query is described again, which gives a new name, and run once more.

In a transaction a missing name would abort it, so there the statement stays unnamed, described
once per transaction: a later run in the same transaction sends Parse in the same batch as Bind
and Execute. A description is never carried into another transaction, where a migration may
have changed what the query returns — read with the old description, an int4 column turned
float4 gave wrong numbers and an int8 one failed — but within one it holds: describing the query
locked its tables against such a change until the transaction ends. A statement of the
transaction's own that may change the schema (anything not nameable, `BEGIN` too) drops them.

It overrides private methods of asyncpg's `Connection`: asyncpg is pinned in the lock file, and
tests/database/test_statements.py fails if a new version moves them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
from asyncpg import Connection
from asyncpg.protocol.protocol import PreparedStatementState

# asyncpg's own default `statement_cache_size`: a site runs far fewer distinct queries.
KEPT_STATEMENTS = 100
PREFIX = "bandstand_"

Key = tuple[str, Any, bool]


def _keep(kept: dict[Key, Any], key: Key, statement: Any) -> Any:
    """Keep `statement`, as the newest; return the oldest if it had to go to make room."""
    kept.pop(key, None)
    displaced = kept.pop(next(iter(kept))) if len(kept) >= KEPT_STATEMENTS else None
    kept[key] = statement
    return displaced


# What SQL's PREPARE accepts. A name is made in a transaction, which a statement such as VACUUM
# or CREATE INDEX CONCURRENTLY refuses to run in; those run unnamed, as with asyncpg alone.
NAMEABLE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES", "WITH"})


def _nameable(query: str) -> bool:
    words = query.split(None, 1)
    return bool(words) and words[0].upper() in NAMEABLE


def statement_name(statement: Any) -> str:
    """The name that means `statement`'s query, with its description, on any server connection."""
    description = (statement.query, statement._get_parameters(), statement._get_attributes())
    return PREFIX + hashlib.sha256(repr(description).encode()).hexdigest()[:32]


class DescribedStatementsConnection(Connection):  # type: ignore[misc]  # asyncpg is untyped
    """An asyncpg connection that keeps its statements' descriptions, and names them by content."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._described: dict[Key, Any] = {}
        # Descriptions made in the transaction under way (see the module's docstring).
        self._described_in_transaction: dict[Key, Any] = {}
        self._named: dict[Key, Any] = {}

    async def _get_statement(
        self,
        query: str,
        timeout: float | None,  # noqa: ASYNC109 - asyncpg's signature
        *,
        named: str | bool = False,
        use_cache: bool = True,
        ignore_custom_codec: bool = False,
        record_class: type | None = None,
    ) -> Any:
        arguments = {
            "named": named,
            "use_cache": use_cache,
            "ignore_custom_codec": ignore_custom_codec,
            "record_class": record_class,
        }
        # Named statements (`prepare()`, or the cache on) are asyncpg's own business.
        if named is not False or not use_cache or self._stmt_cache_enabled:
            return await super()._get_statement(query, timeout, **arguments)
        key = (query, record_class, ignore_custom_codec)
        if self._protocol.is_in_transaction():
            kept = self._described_in_transaction
        else:
            kept = self._described
        statement = kept.get(key)
        if statement is None or statement.closed:
            # asyncpg marks an unnamed statement it made with the cache off as unprepared, so
            # every run of it sends its Parse again, in the same batch as Bind and Execute.
            statement = await super()._get_statement(query, timeout, **arguments)
            _keep(kept, key, statement)
        return statement

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109 - asyncpg's signature
        if not _nameable(query):  # BEGIN, SAVEPOINT, DDL: see `_described_in_transaction`
            self._described_in_transaction.clear()
        return await super().execute(query, *args, timeout=timeout)  # type: ignore[no-any-return]

    async def _do_execute(
        self,
        query: str,
        executor: Any,
        timeout: float | None,  # noqa: ASYNC109 - asyncpg's signature
        retry: bool = True,
        *,
        ignore_custom_codec: bool = False,
        record_class: type | None = None,
    ) -> Any:
        options: dict[str, Any] = {
            "ignore_custom_codec": ignore_custom_codec,
            "record_class": record_class,
        }
        try:
            nameable = _nameable(query)
            if not nameable:
                self._described_in_transaction.clear()
            if self._stmt_cache_enabled or self._protocol.is_in_transaction() or not nameable:
                return await super()._do_execute(query, executor, timeout, retry, **options)
            key = (query, record_class, ignore_custom_codec)
            named = self._named.get(key)
            if named is not None and not named.closed:
                try:
                    return await executor(named, timeout), named
                except asyncpg.InvalidSQLStatementNameError:
                    pass
            return await self._run_named(key, executor, timeout)
        except asyncpg.InvalidCachedStatementError:
            self._forget()
            if not retry or self._protocol.is_in_transaction():
                raise
        except BaseException:
            self._forget()
            raise
        return await self._do_execute(query, executor, timeout, False, **options)

    async def _run_named(
        self,
        key: Key,
        executor: Any,
        timeout: float | None,  # noqa: ASYNC109 - asyncpg's signature
    ) -> tuple[Any, Any]:
        """Make the query's named statement on this server connection, and run it there."""
        query, record_class, ignore_custom_codec = key
        described = await self._get_statement(
            query, timeout, record_class=record_class, ignore_custom_codec=ignore_custom_codec
        )
        name = statement_name(described)
        async with self.transaction():
            stale = PreparedStatementState(
                name, query, self._protocol, described.record_class, ignore_custom_codec
            )
            await self._protocol.close_statement(stale, timeout)
            named = await super()._get_statement(
                query,
                timeout,
                named=name,
                use_cache=False,
                record_class=record_class,
                ignore_custom_codec=ignore_custom_codec,
            )
            result = await executor(named, timeout)
            if statement_name(named) != name:
                # The schema changed between the two Describes: a name must say what its
                # statement returns, so this one goes, and so does the older description.
                await self._protocol.close_statement(named, timeout)
                self._described.pop(key, None)
                return result, named
        displaced = _keep(self._named, key, named)
        if displaced is not None:
            # Closed with the next statement made, as asyncpg closes what its cache displaces: a
            # query written with its values in it (a page number) would otherwise leave a
            # statement on the server for each value.
            self._stmts_to_close.add(displaced)
        return result, named

    def _forget(self) -> None:
        self._described.clear()
        self._described_in_transaction.clear()
        self._named.clear()

    def _drop_local_statement_cache(self) -> None:
        super()._drop_local_statement_cache()
        self._forget()

    def _drop_local_type_cache(self) -> None:
        super()._drop_local_type_cache()
        self._forget()
