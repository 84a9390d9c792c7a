"""Hot queries compiled once.

Piccolo builds a query's SQL afresh on every run: for a small select with a join that costs
more than the database round trip (see bench/). A `CompiledQuery` asks Piccolo for the SQL of
each shape once per engine type, with `Slot`s where the values go, and then only binds values —
the same SQL, parameters and rows as the query it was built from.

    PRODUCT = CompiledQuery(lambda: Product.select(*COLUMNS).where(Product.id == Slot("id")))
    rows = await PRODUCT.rows(id=5)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from piccolo.engine.base import Engine
from piccolo.query.base import Query
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


class _Compiled:
    __slots__ = ("args", "engine", "source", "sql", "table")

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

    async def rows(self, *shape: Hashable, **values: Any) -> Sequence[Mapping[str, Any]]:
        """The rows of the query for `shape`, with `values` in its slots: dicts on SQLite,
        asyncpg's records (read-only mappings) on PostgreSQL."""
        compiled = self._compiled.get(shape)
        if compiled is None or compiled.table._meta.db is not compiled.engine:
            compiled = self._compiled[shape] = _Compiled(self.build(*shape), self.paged)
        bound = [values[arg.name] if isinstance(arg, Slot) else arg for arg in compiled.args]
        rows: Sequence[Mapping[str, Any]] = await compiled.engine.run_querystring(
            CompiledSQL(compiled.sql, bound, compiled.source)
        )
        return rows
