"""`piccolo project release`: what a PaaS runs once per deploy, before the new instances start."""

from __future__ import annotations

import sqlite3
import sys
from typing import NoReturn

import asyncpg

from bandstand.commands.superuser import ensure_superuser
from bandstand.database.errors import describe_connection_error
from bandstand.database.migrations import MigrationError, apply_migrations, migration_lock


async def release() -> None:
    """
    Prepare the database for a new release: apply the pending migrations, then create the
    superuser from SUPERUSER_USERNAME, SUPERUSER_EMAIL and SUPERUSER_PASSWORD if there is none.
    No demo data and no prompts. Several instances may run it at once (a release phase per
    instance, or a start command that runs it first): a lock in the database lets one migrate
    while the others wait, then find nothing to do. Exits 1 if a migration fails.
    """
    try:
        async with migration_lock(on_wait=say_waiting):
            try:
                applied = await apply_migrations()
            except MigrationError as error:
                migrations_failed("release", error)
            report_migrations(applied)
            # Under the lock too: two instances would both see no superuser, and both make it.
            await ensure_superuser()
    except MigrationError as error:  # the lock's wait ran out
        sys.exit(f"release: {error}")
    except (OSError, TimeoutError, asyncpg.PostgresError, sqlite3.Error) as error:
        sys.exit(f"release: cannot use the database: {describe_connection_error(error)}")
    print("release: done")


def say_waiting() -> None:
    print("migrations: another process is migrating this database; waiting for it", flush=True)


def report_migrations(applied: list[str]) -> None:
    if not applied:
        print("migrations: up to date", flush=True)
        return
    print(f"migrations: applied {len(applied)}")
    for name in applied:
        print(f"  {name}")


def migrations_failed(command: str, error: MigrationError) -> NoReturn:
    if error.output:
        sys.stderr.write(error.output + "\n")
    sys.exit(f"{command}: migrations failed: {error.reason}")
