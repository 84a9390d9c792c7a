"""Piccolo's migrations as the code and the database know them, and applying them once.

Piccolo's migration manager takes no lock: two instances of a release starting together would
both apply the same migration, and one of them fail half-way. `apply_migrations` holds a lock
in the database for its whole run, so the second one waits, then finds nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import os
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread
import asyncpg
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

from bandstand.database.postgres import PoolerSafePostgresEngine

# pg_try_advisory_xact_lock's key: any number, the same in every instance of the project.
LOCK_KEY = int.from_bytes(b"bandstnd", "big") >> 1
POLL_SECONDS = 0.5
WAIT_SECONDS = 600.0


class MigrationError(Exception):
    """Migrations could not be applied: why, in one line, and what Piccolo printed meanwhile."""

    def __init__(self, reason: str, output: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.output = output


def _code_migrations() -> dict[str, list[str]]:
    manager = BaseMigrationManager()
    return {
        config.app_name: manager.get_migration_ids(
            manager.get_migration_modules(config.resolved_migrations_folder_path)
        )
        for config in manager.get_app_configs()
    }


async def code_migrations() -> dict[str, list[str]]:
    """Each app's migration ids in the code, in order (importing the files: in a thread)."""
    return await anyio.to_thread.run_sync(_code_migrations)


async def applied_migrations() -> dict[str, list[str]]:
    """The migration ids run on this database, per app; empty if none ever ran. Reads Piccolo's
    `migration` table without creating it, as `piccolo migrations check` would."""
    if not await Migration.table_exists():
        return {}
    rows = await Migration.select(Migration.app_name, Migration.name)
    applied: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        applied[row["app_name"]].append(row["name"])
    return {app: sorted(ids) for app, ids in applied.items()}


async def pending_migrations() -> dict[str, list[str]]:
    """Each app's migrations not run yet, in the order they would run (apps with none are left
    out)."""
    code, ran = await code_migrations(), await applied_migrations()
    pending = {app: [i for i in ids if i not in ran.get(app, ())] for app, ids in code.items()}
    return {app: ids for app, ids in pending.items() if ids}


class _Lock(Protocol):
    async def try_acquire(self) -> bool: ...
    async def release(self) -> None: ...


class _AdvisoryLock:
    """A transaction-level advisory lock on a connection of its own. A transaction-mode pooler
    (PgBouncer, Supavisor) keeps a transaction on one server connection, so the lock holds
    through it, where a session-level lock would be taken and dropped on whichever server
    connection answered. Waiting is a retry, not a blocking `pg_advisory_xact_lock`: a waiter
    that held a pooled server connection could starve the holder's migrations of one."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.connection: asyncpg.Connection | None = None
        self.transaction: Any = None

    async def try_acquire(self) -> bool:
        if self.connection is None:
            self.connection = await asyncpg.connect(**self.config)
        self.transaction = self.connection.transaction()
        await self.transaction.start()
        if await self.connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK_KEY):
            return True
        await self.transaction.rollback()
        return False

    async def release(self) -> None:
        if self.connection is not None:
            # Closing ends the transaction, and with it the lock, even if a rollback fails.
            with contextlib.suppress(Exception):
                await self.transaction.rollback()
            await self.connection.close()


class _FileLock:
    """An exclusive flock on a file beside the SQLite database: every process that migrates
    that database sees the same file."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".migrate-lock")
        self.descriptor: int | None = None

    def _try(self) -> bool:
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        self.descriptor = descriptor
        return True

    async def try_acquire(self) -> bool:
        return await anyio.to_thread.run_sync(self._try)

    async def release(self) -> None:
        if self.descriptor is not None:
            await anyio.to_thread.run_sync(os.close, self.descriptor)  # closing unlocks


def _lock_for(engine: Engine | None) -> _Lock:  # type: ignore[type-arg]
    if isinstance(engine, PoolerSafePostgresEngine):
        return _AdvisoryLock(engine.config)
    if isinstance(engine, SQLiteEngine):
        return _FileLock(Path(engine.connection_kwargs["database"]))
    raise MigrationError(f"no migration lock for {type(engine).__name__}")


@asynccontextmanager
async def migration_lock(
    *,
    on_wait: Callable[[], None] = lambda: None,
    wait_seconds: float = WAIT_SECONDS,
    engine: Engine | None = None,  # type: ignore[type-arg]
) -> AsyncIterator[None]:
    """Hold the project's migration lock on the database (the project's engine by default);
    `on_wait` is called once if another process has it."""
    lock = _lock_for(engine or engine_finder())
    deadline = time.monotonic() + wait_seconds
    try:
        waited = False
        while not await lock.try_acquire():
            if not waited:
                on_wait()
                waited = True
            if time.monotonic() > deadline:
                raise MigrationError(
                    f"another process has held the migration lock for over {wait_seconds:.0f} s"
                )
            await asyncio.sleep(POLL_SECONDS)
        yield
    finally:
        await lock.release()


async def apply_migrations() -> list[str]:
    """Run every pending migration (hold `migration_lock` around it); the ones run, as
    `app: id`. Piccolo's own chatter is kept back: a `MigrationError` carries it."""
    pending = await pending_migrations()
    if not pending:
        return []
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        try:
            result = await run_forwards(app_name="all")
            failure = None if result.success else (result.message or "unknown error")
        except Exception as error:  # noqa: BLE001 - any failure is reported, one line
            failure = f"{type(error).__name__}: {error}"
    if failure is not None:
        raise MigrationError(failure, printed.getvalue().strip())
    return [f"{app}: {id_}" for app, ids in pending.items() for id_ in ids]
