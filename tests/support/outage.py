"""A database outage inside a test: the live engine pointed where it cannot connect, then back."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

from bandstand.database.sqlite import TunedSQLiteEngine


@contextlib.asynccontextmanager
async def outage() -> AsyncIterator[None]:
    """Point the live engine where it cannot connect, as an outage would, then back."""
    engine = engine_finder()
    if isinstance(engine, TunedSQLiteEngine):
        saved = engine.connection_kwargs["database"]
        # A path under a regular file: SQLite can neither open nor create it.
        engine.connection_kwargs["database"] = "/dev/null/bandstand.sqlite3"
        engine.close_query_threads()  # kept connections would still answer
        try:
            yield
        finally:
            engine.connection_kwargs["database"] = saved
            engine.close_query_threads()
            # aiosqlite stops a connection that failed to open only when it is collected.
            gc.collect()
            await asyncio.sleep(0.05)
        return
    assert isinstance(engine, PostgresEngine)
    saved_config = dict(engine.config)
    await engine.close_connection_pool()
    engine.config.update(host="127.0.0.1", port=1)  # refused at once
    await engine.start_connection_pool()
    try:
        yield
    finally:
        await engine.close_connection_pool()
        engine.config.clear()
        engine.config.update(saved_config)
        await engine.start_connection_pool()
