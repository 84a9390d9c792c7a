"""Unnamed statements in one round trip: asyncpg's connection, describing each query once.

With the statement cache off — the only setting a transaction-mode pooler survives, since its
server connections don't keep our named statements — asyncpg pays two round trips per query:
Parse/Describe to learn the parameter and column types, then Parse/Bind/Execute (it parses
again, so that a pooler may hand the statement to any server connection). The types a query
takes and returns don't depend on which server connection runs it, so this connection keeps
what Describe said, per query text, and later runs of that query send only the second message
batch: still unnamed and parsed in the same batch, so still pooler-safe, in one round trip.

What is kept is thrown away whenever asyncpg drops its own caches (a changed type, or
`reload_schema_state()`), and after any failed query on the connection: a schema change that
renames, drops or resizes what a query uses fails that query once, and the next run describes
again. A failed query is not retried: unlike a named statement the server refuses, it may have
run. A column changed to a type of the same binary width is read with the old type until that
connection sees an error or is replaced (docs/database.md).

It overrides private methods of asyncpg's `Connection`: asyncpg is pinned in the lock file, and
tests/database/test_statements.py fails if a new version moves them.
"""

from __future__ import annotations

from typing import Any

from asyncpg import Connection

# asyncpg's own default `statement_cache_size`: a site runs far fewer distinct queries.
DESCRIBED_STATEMENTS = 100


class DescribedStatementsConnection(Connection):  # type: ignore[misc]  # asyncpg is untyped
    """An asyncpg connection that keeps its unnamed statements' descriptions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._described: dict[tuple[str, Any, bool], Any] = {}

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
        statement = self._described.get(key)
        if statement is None or statement.closed:
            # asyncpg marks an unnamed statement it made with the cache off as unprepared, so
            # every run of it sends its Parse again, in the same batch as Bind and Execute.
            statement = await super()._get_statement(query, timeout, **arguments)
            if len(self._described) >= DESCRIBED_STATEMENTS:
                del self._described[next(iter(self._described))]
            self._described[key] = statement
        return statement

    async def _do_execute(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._do_execute(*args, **kwargs)
        except BaseException:
            self._described.clear()
            raise

    def _drop_local_statement_cache(self) -> None:
        super()._drop_local_statement_cache()
        self._described.clear()

    def _drop_local_type_cache(self) -> None:
        super()._drop_local_type_cache()
        self._described.clear()
