"""One `DATABASE_URL` in, the right Piccolo engine out."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from bandstand.database.postgres import PoolerSafePostgresEngine
from bandstand.database.sqlite import TunedSQLiteEngine
from bandstand.database.url import SQLiteDatabase, parse_database_url
from bandstand.disks import require_writable
from bandstand.settings import Settings


def create_engine(settings: Settings) -> Engine:  # type: ignore[type-arg]
    """Build the engine for `settings.database_url`; raises `DatabaseURLError` on a bad URL."""
    database = parse_database_url(settings.database_url)
    if isinstance(database, SQLiteDatabase):
        path = settings.root / database.path  # unless absolute
        # The default folder is git-ignored: a fresh clone doesn't have it yet. SQLite writes
        # its journal beside the file, so the folder, not only the file, must be writable.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
        require_writable(path.parent, needed_by=f"the SQLite database {path.name} (DATABASE_URL)")
        return TunedSQLiteEngine(path)
    return PoolerSafePostgresEngine(
        database, pool_min=settings.database_pool_min, pool_max=settings.database_pool_max
    )


_engines: dict[tuple[str, int, int], Engine] = {}  # type: ignore[type-arg]


def engine_for(settings: Settings) -> Engine:  # type: ignore[type-arg]
    """The process's engine for `settings`' database, made on first use: `piccolo_conf.py` and
    `create_app` given settings for the same database share one engine (one pool, one set of
    threads), whatever else differs."""
    database = settings.database_url
    if database.startswith("sqlite"):  # a relative file is the project folder's
        sqlite = parse_database_url(database)
        assert isinstance(sqlite, SQLiteDatabase)
        database = str(settings.root / sqlite.path)
    key = (database, settings.database_pool_min, settings.database_pool_max)
    engine = _engines.get(key)
    if engine is None:
        engine = _engines[key] = create_engine(settings)
    return engine


def bind_tables(engine: Engine, tables: Iterable[type[Table]]) -> None:  # type: ignore[type-arg]
    """Point `tables` at `engine`. Piccolo tables are global, each with one engine (by default
    piccolo_conf.py's): an app on another database rebinds them, so one process serves one
    database at a time."""
    for table in tables:
        table._meta.db = engine


@contextlib.asynccontextmanager
async def connected(engine: Engine) -> AsyncIterator[None]:  # type: ignore[type-arg]
    """The engine's connections for the life of a process (the app's, a worker's), closed at
    its end."""
    if isinstance(engine, TunedSQLiteEngine):
        # Query threads keep their own connections; each transaction opens one.
        try:
            yield
        finally:
            engine.close_query_threads()
        return
    if not isinstance(engine, PostgresEngine):
        yield
        return
    await engine.start_connection_pool()
    try:
        yield
    finally:
        await engine.close_connection_pool()
