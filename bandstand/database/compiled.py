"""Hot queries compiled once.

Piccolo builds a query's SQL afresh on every run: for a small select with a join that costs
more than the database round trip (docs/performance.md). A `CompiledQuery` asks Piccolo for the
SQL of each shape once per engine type, with `Slot`s where the values go, and then only binds
values — the same SQL, parameters and rows as the query it was built from.

    PRODUCT = CompiledQuery(lambda: Product.select(*COLUMNS).where(Product.id == Slot("id")))
    rows = await PRODUCT.rows(id=5)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from piccolo.columns import Column
from piccolo.engine.base import Engine
from piccolo.query.base import Query
from piccolo.query.methods import Insert, Select
from piccolo.querystring import QueryString


class Slot:
    """A value left open when the SQL is compiled, bound by name at each run."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


class CompiledSQL(QueryString):
    """SQL already compiled for its engine, with its values: the engine has nothing to build."""

    def __init__(self, sql: str, values: list[Any], source: QueryString) -> None:
        # The engine reads the type (SQLite inserts differ) and table of the query it runs.
        super().__init__(sql, query_type=source.query_type, table=source.table)
        self.sql, self.values = sql, values

    def compile_string(self, engine_type: str = "postgres") -> tuple[str, list[Any]]:
        return self.sql, self.values

    def __str__(self) -> str:  # what Piccolo's query log prints
        return self.sql


Build = Callable[..., Query[Any, Any]]


Reader = Callable[[Any], Any]


@runtime_checkable
class StoredRowsEngine(Protocol):
    """An engine that can hand back rows as the database stores them, for the caller to
    convert (TunedSQLiteEngine: its converters would otherwise run on the query thread)."""

    def stored_value_reader(self, column_type: str) -> Reader | None:
        """What turns a stored value of a column declared `column_type` into the value the
        engine's own queries give; None when the two are the same."""

    async def fetch_stored(
        self, query: str, args: Sequence[Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The column names and rows of `query`, run outside any transaction, as stored."""


def _output_columns(query: Query[Any, Any]) -> list[tuple[str, Column]] | None:
    """The table columns a query returns, by the names its rows carry them under; None when
    it isn't known (other kinds of query)."""
    if isinstance(query, Select):
        selected = query.columns_delegate.selected_columns
        return [
            (column._alias or column._meta.get_default_alias(), column)
            for column in selected
            if isinstance(column, Column)
        ]
    if isinstance(query, Insert):
        returned = query.returning_delegate._returning
        columns = returned.columns if returned else []
        return [(column._alias or column._meta.db_column_name, column) for column in columns]
    return None


class _Compiled:
    __slots__ = ("args", "engine", "readers", "source", "sql", "stored", "table")

    def __init__(self, query: Query[Any, Any], paged: bool) -> None:
        self.table = query.table
        self.engine: Engine[Any] = query.table._meta.db
        engine_type = self.engine.engine_type
        (self.source,) = query.querystrings
        self.sql, self.args = self.source.compile_string(engine_type=engine_type)
        if paged:
            self.args += [Slot("limit"), Slot("offset")]
            count = len(self.args)
            self.sql += (
                " LIMIT ? OFFSET ?"
                if engine_type == "sqlite"
                else f" LIMIT ${count - 1} OFFSET ${count}"
            )
        # Where the engine can, rows are read as stored and converted here (`fetch_stored`).
        self.stored: StoredRowsEngine | None = None
        self.readers: dict[str, Reader] = {}
        if isinstance(self.engine, StoredRowsEngine):
            columns = _output_columns(query)
            if columns is not None:
                self.stored = self.engine
                for name, column in columns:
                    reader = self.engine.stored_value_reader(column.column_type)
                    if reader is not None:
                        self.readers[name] = reader


class CompiledQuery:
    """The query `build(*shape)` returns, compiled on first use for each shape (again if its
    table's engine changes).

    `paged` appends `LIMIT` and `OFFSET` as parameters (Piccolo writes them into the SQL as
    numbers, which would make every page a new shape): pass `limit=` and `offset=` to `rows`.
    """

    def __init__(self, build: Build, *, paged: bool = False) -> None:
        self.build = build
        self.paged = paged
        self._compiled: dict[tuple[Hashable, ...], _Compiled] = {}

    def _for(self, shape: tuple[Hashable, ...]) -> _Compiled:
        compiled = self._compiled.get(shape)
        if compiled is None or compiled.table._meta.db is not compiled.engine:
            compiled = self._compiled[shape] = _Compiled(self.build(*shape), self.paged)
        return compiled

    def statement(self, *shape: Hashable, **values: Any) -> tuple[str, list[Any]]:
        """The SQL and parameters that `rows` runs for `shape` and `values` (to EXPLAIN it, say)."""
        compiled = self._for(shape)
        return compiled.sql, _bound(compiled.args, values)

    async def rows(self, *shape: Hashable, **values: Any) -> Sequence[Mapping[str, Any]]:
        """The rows of the query for `shape`, with `values` in its slots: dicts on SQLite,
        asyncpg's records (read-only mappings) on PostgreSQL."""
        compiled = self._for(shape)
        bound = _bound(compiled.args, values)
        engine = compiled.engine
        in_transaction = engine.current_transaction.get() is not None
        if compiled.stored is None or in_transaction:
            rows: Sequence[Mapping[str, Any]] = await engine.run_querystring(
                CompiledSQL(compiled.sql, bound, compiled.source)
            )
            return rows
        names, stored = await compiled.stored.fetch_stored(compiled.sql, bound)
        return _converted(names, stored, compiled.readers)


def _bound(args: list[Any], values: Mapping[str, Any]) -> list[Any]:
    return [values[arg.name] if isinstance(arg, Slot) else arg for arg in args]


def _converted(
    names: list[str], stored: list[tuple[Any, ...]], readers: dict[str, Reader]
) -> list[dict[str, Any]]:
    converting = [(name, readers[name]) for name in names if name in readers]
    rows = [dict(zip(names, row, strict=True)) for row in stored]
    for row in rows:
        for name, read in converting:
            row[name] = read(row[name])
    return rows
