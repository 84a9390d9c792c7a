"""The test run's databases: one for the run, made and migrated before any test, and new
empty ones for tests that need their own."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table, sort_table_classes

# Which database the run uses: "sqlite" (the default) or "postgres".
TEST_DATABASE = os.environ.get("BANDSTAND_TEST_DATABASE", "sqlite")
# The local server the PostgreSQL runs make their throwaway databases on.
ADMIN_URL = os.environ.get(
    "BANDSTAND_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PICCOLO = str(Path(sys.executable).parent / "piccolo")


class DatabaseUnavailable(Exception):
    """The PostgreSQL server for the run can't be reached."""


async def _create_postgres_database(name: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_postgres_database(name: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def postgres_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def create_postgres_database(name: str) -> str:
    """A new, empty database on the local server; its URL. Raises `DatabaseUnavailable`."""
    try:
        asyncio.run(_create_postgres_database(name))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        raise DatabaseUnavailable(f"cannot reach {ADMIN_URL} ({error})") from error
    return postgres_url(name)


def drop_postgres_database(name: str) -> None:
    asyncio.run(_drop_postgres_database(name))


@contextlib.contextmanager
def new_postgres_database() -> Iterator[str]:
    """The URL of a new, empty database on the local PostgreSQL server, dropped afterwards."""
    name = f"bandstand_fresh_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = create_postgres_database(name)
    try:
        yield url
    finally:
        drop_postgres_database(name)


def migrate() -> None:
    """Apply every app's migrations to the run's database (DATABASE_URL); raises
    RuntimeError with what Piccolo printed if one fails."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    with contextlib.redirect_stdout(io.StringIO()) as printed:
        response = asyncio.run(run_forwards(app_name="all"))
    if not response.success:
        raise RuntimeError(f"migrations failed: {response.message}\n{printed.getvalue()}")


def run_piccolo(*args: str, database_url: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """Run the Piccolo CLI from the project folder (the current one), as a person would."""
    env = {**os.environ, **environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [PICCOLO, *args],
        cwd=Path.cwd(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def app_tables() -> list[type[Table]]:
    """Every installed Piccolo app's tables, parents before the tables that refer to them."""
    tables = [table for table in Finder().get_table_classes() if table is not Migration]
    return sort_table_classes(tables)


@contextlib.asynccontextmanager
async def one_connection() -> AsyncIterator[None]:
    """The queries inside on one connection, where that is quicker. Outside an app's lifespan no
    PostgreSQL pool is open, so each query would open (and the server fork) a connection of its
    own: a transaction holds one for all of them. SQLite's engine runs a single query on a
    thread it keeps, quicker than a transaction's connection of its own."""
    engine = engine_finder()
    if isinstance(engine, PostgresEngine):
        async with engine.transaction():
            yield
    else:
        yield


async def fingerprint() -> str:
    """A digest of every row of every installed Piccolo app's tables: equal digests before and
    after a refused write mean it wrote nothing."""
    digest = hashlib.sha256()
    for table in app_tables():
        rows = await table.select().order_by(table._meta.primary_key)
        digest.update(table._meta.tablename.encode())
        digest.update(json.dumps(rows, default=str, sort_keys=True).encode())
    return digest.hexdigest()
