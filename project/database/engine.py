"""One `DATABASE_URL` in, the right Piccolo engine out."""

from __future__ import annotations

import contextlib

from piccolo.engine.base import Engine

from project.database.postgres import PoolerSafePostgresEngine
from project.database.sqlite import TunedSQLiteEngine
from project.database.url import SQLiteDatabase, parse_database_url
from project.disks import require_writable
from project.settings import BASE_DIR, Settings


def create_engine(settings: Settings) -> Engine:  # type: ignore[type-arg]
    """Build the engine for `settings.database_url`; raises `DatabaseURLError` on a bad URL."""
    database = parse_database_url(settings.database_url)
    if isinstance(database, SQLiteDatabase):
        path = database.path if database.path.is_absolute() else BASE_DIR / database.path
        # The default folder is git-ignored: a fresh clone doesn't have it yet. SQLite writes
        # its journal beside the file, so the folder, not only the file, must be writable.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
        require_writable(path.parent, needed_by=f"the SQLite database {path.name} (DATABASE_URL)")
        return TunedSQLiteEngine(path)
    return PoolerSafePostgresEngine(
        database, pool_min=settings.database_pool_min, pool_max=settings.database_pool_max
    )
