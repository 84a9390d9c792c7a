"""One scenario, run on Piccolo's stock engine and on Bandstand's; what each gave, as plain data."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from piccolo.engine import sqlite as piccolo_sqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

from bandstand.database.postgres import PoolerSafePostgresEngine
from bandstand.database.sqlite import TunedSQLiteEngine
from tests.conformance.tables import all_tables

Side = Literal["stock", "ours"]
SIDES: tuple[Side, Side] = ("stock", "ours")
# The test parameter of each pair of engines (see the package's docstring).
BACKENDS = ("sqlite", "postgres", "postgres-cached", "pgbouncer")

AnyEngine = Engine[Any]
Scenario = Callable[[AnyEngine], Awaitable[object]]


class Backend(Protocol):
    name: str

    def engine(self, side: Side) -> AbstractAsyncContextManager[AnyEngine]:
        """`side`'s engine, on a database of its own, for one run."""


@dataclass
class SQLiteBackend:
    """A stock and a Bandstand engine, each on a new file in `directory`; made outside any
    event loop (Piccolo's engines check the version as they are made)."""

    directory: Path
    name: str = "sqlite"

    def __post_init__(self) -> None:
        self.stock = SQLiteEngine(path=str(self.directory / "stock.sqlite3"))
        self.ours = TunedSQLiteEngine(self.directory / "ours.sqlite3")

    @asynccontextmanager
    async def engine(self, side: Side) -> AsyncIterator[AnyEngine]:
        if side == "stock":
            with piccolo_converters():
                yield self.stock
            return
        try:
            yield self.ours
        finally:
            self.ours.close_query_threads()


@contextmanager
def piccolo_converters() -> Iterator[None]:
    """Piccolo's own SQLite converters for a while. sqlite3's are global to the process, and
    Bandstand's engine replaced one as it was imported: a stock run uses Piccolo's."""
    ours = dict(sqlite3.converters)
    for name, converter in piccolo_sqlite.CONVERTERS.items():
        sqlite3.register_converter(name, converter)
    try:
        yield
    finally:
        sqlite3.converters.clear()
        sqlite3.converters.update(ours)


@dataclass
class PostgresBackend:
    """A stock and a Bandstand engine, each on a database of its own; made outside any event
    loop (the stock engine checks the server's version as it is made)."""

    name: str
    stock: PostgresEngine
    ours: PoolerSafePostgresEngine

    @asynccontextmanager
    async def engine(self, side: Side) -> AsyncIterator[AnyEngine]:
        if side == "stock":
            engine: PostgresEngine = self.stock
            await engine.start_connection_pool(min_size=1, max_size=5)
        else:
            engine = self.ours
            await engine.start_connection_pool()
        try:
            yield engine
        finally:
            await engine.close_connection_pool()


async def _prepare(engine: AnyEngine) -> None:
    """The run's tables (bound to `engine`, parents first), on a new SQLite file or an emptied
    PostgreSQL database: made, or emptied with their identities restarted; others dropped."""
    tables = all_tables()
    if engine.engine_type == "postgres":
        rows = await engine.run_ddl("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        if {row["tablename"] for row in rows} >= {table._meta.tablename for table in tables}:
            deletes = "".join(f'DELETE FROM "{table._meta.tablename}";' for table in tables[::-1])
            await engine.run_ddl(_EMPTY_POSTGRES.format(keep=_quoted(tables), deletes=deletes))
            return
        await engine.run_ddl("DROP SCHEMA public CASCADE")
        await engine.run_ddl("CREATE SCHEMA public")
    for table in tables:
        await table.create_table()


def _quoted(tables: list[type[Table]]) -> str:
    return ", ".join(f"'{table._meta.tablename}'" for table in tables)


# One statement, one round trip: TRUNCATE of a dozen tables took a tenth of a second.
_EMPTY_POSTGRES = """DO $$
DECLARE name text;
BEGIN
    FOR name IN SELECT tablename FROM pg_tables
        WHERE schemaname = 'public' AND tablename NOT IN ({keep}) LOOP
        EXECUTE format('DROP TABLE %I CASCADE', name);
    END LOOP;
    {deletes}
    FOR name IN SELECT sequence_name FROM information_schema.sequences
        WHERE sequence_schema = 'public' LOOP
        EXECUTE format('ALTER SEQUENCE %I RESTART', name);
    END LOOP;
END $$"""


@contextmanager
def bound(tables: Iterable[type[Table]], engine: AnyEngine) -> Iterator[None]:
    """`tables` on `engine` for a while, then back on the engines they had."""
    before = {table: table._meta._db for table in tables}
    try:
        for table in before:
            table._meta.db = engine
        yield
    finally:
        for table, previous in before.items():
            table._meta._db = previous


async def run(backend: Backend, side: Side, scenario: Scenario) -> object:
    """`scenario` on `side`'s engine of `backend`, on a fresh database; its result, plain."""
    async with backend.engine(side) as engine:
        with bound(all_tables(), engine):
            await _prepare(engine)
            return plain(await scenario(engine))


async def same_on_both(backend: Backend, scenario: Scenario) -> Any:
    """Run `scenario` on the stock engine, then on Bandstand's; assert they gave the same.
    Returns what they gave, for a test's own checks that the scenario did what it says."""
    stock = await run(backend, "stock", scenario)
    ours = await run(backend, "ours", scenario)
    if ours != stock:
        differences = "\n".join(
            f"  at {where or 'the top'}: stock {theirs!r}, ours {mine!r}"
            for where, theirs, mine in differing(stock, ours)
        )
        raise AssertionError(f"{backend.name}: Bandstand's engine differs:\n{differences}")
    return stock


def differing(stock: object, ours: object, where: str = "") -> Iterator[tuple[str, object, object]]:
    """Where `ours` differs from `stock`, as (path, stock's value, ours)."""
    if isinstance(stock, dict) and isinstance(ours, dict):
        for key in [*stock, *(key for key in ours if key not in stock)]:
            yield from differing(stock.get(key), ours.get(key), f"{where}[{key!r}]")
    elif isinstance(stock, list) and isinstance(ours, list) and len(stock) == len(ours):
        for index, (theirs, mine) in enumerate(zip(stock, ours, strict=True)):
            yield from differing(theirs, mine, f"{where}[{index}]")
    elif stock != ours:
        yield where, stock, ours


def plain(value: object) -> object:
    """`value` as comparable plain data: dicts, lists, strings and None, every other value
    tagged with its type (so that 1, True, 1.0 and Decimal("1") differ)."""
    if isinstance(value, Table):
        return {"<row>": type(value).__name__, **_plain_dict(value.to_dict())}
    if isinstance(value, dict):
        return _plain_dict(value)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if value is None or type(value) is str:
        return value
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        # One instant, one text: a zone object's repr differs between equal zones.
        return f"datetime:{value.isoformat()}@{value.utcoffset()}"
    return f"{type(value).__name__}:{value!r}"


def _plain_dict(value: dict[Any, Any]) -> dict[str, object]:
    return {str(key): plain(item) for key, item in value.items()}


async def attempt(work: Awaitable[object]) -> object:
    """What `work` gave, or the name of the exception it raised."""
    try:
        return await work
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return {"raised": type(error).__name__}
