"""Databases for the backup tests, all of the sample site (the framework's tables and a
test-only app's, no feature of the project's): SQLite files and PostgreSQL databases on the
local server, each migrated once as a template and copied per test; and one source site (the
sample's data and files) backed up once for the whole folder."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from bandstand.testing.database import ADMIN_URL
from tests.backup.support import APP, Site, Types, cli_sync, postgres_types
from tests.support.mandatory import skip_unless_ci

SERVER = ADMIN_URL.rsplit("/", 1)[0]
# Small pages: the source's larger tables take several, and pages must join up exactly.
SOURCE_PAGE_SIZE = 7


@dataclass(frozen=True)
class Source:
    site: Site
    backup: Path


def _admin(*statements: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(ADMIN_URL, timeout=5)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def _migrated(site: Site) -> Site:
    result = cli_sync(site, "migrations", "forwards", "all")
    assert result.code == 0, result.output
    return site


@pytest.fixture(scope="package")
def postgres_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"bandstand_backup_template_{os.getpid()}"
    try:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        skip_unless_ci(f"no local PostgreSQL at {ADMIN_URL}: {error}")
    try:
        _migrated(Site(f"{SERVER}/{name}", tmp_path_factory.mktemp("template-media")))
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_site(postgres_template: str, tmp_path: Path) -> Iterator[Site]:
    """A new PostgreSQL database at the current schema version, with no rows."""
    name = f"bandstand_backup_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    try:
        yield Site(f"{SERVER}/{name}", tmp_path / "postgres-media")
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="package")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    site = _migrated(Site(f"sqlite:///{folder}/template.sqlite3", folder / "media"))
    return site.sqlite_path


def _copy_sqlite(template: Path, folder: Path, name: str) -> Site:
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal"):
        if Path(f"{template}{suffix}").exists():
            shutil.copy(f"{template}{suffix}", folder / f"{name}.sqlite3{suffix}")
    return Site(f"sqlite:///{folder}/{name}.sqlite3", folder / f"{name}-media")


@pytest.fixture
def new_sqlite_site(sqlite_template: Path, tmp_path: Path) -> Callable[[str], Site]:
    """New SQLite databases at the current schema version, with no rows (it copies a file:
    from an async test, call it in a thread)."""
    return lambda name: _copy_sqlite(sqlite_template, tmp_path, name)


@pytest.fixture(scope="package")
def source(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Source:
    """A prototype on SQLite with the sample's data (`piccolo sample demo`: awkward rows in
    every framework table and the sample's, files in the media folder, one file as a row) and
    its backup. Tests read it; none changes it."""
    folder = tmp_path_factory.mktemp("source")
    site = _copy_sqlite(sqlite_template, folder, "source")
    result = cli_sync(site, APP, "demo")
    assert result.code == 0, result.output
    backup = folder / "source.bandstand.gz"
    result = cli_sync(site, APP, "backup", str(backup), f"--page_size={SOURCE_PAGE_SIZE}")
    assert result.code == 0, result.output
    return Source(site, backup)


@pytest.fixture(scope="package")
def column_types(postgres_template: str) -> Types:
    """table -> column -> PostgreSQL type, for comparing rows of either engine."""
    return asyncio.run(postgres_types(f"{SERVER}/{postgres_template}"))
