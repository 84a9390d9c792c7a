"""Databases for the backup tests: SQLite files and PostgreSQL databases on the local server,
each migrated once as a template and copied per test; and one source site (demo data plus
awkward rows and files) backed up once for the whole folder."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from bandstand.testing.database import ADMIN_URL
from tests.backup.support import Site, cli_sync, postgres_types
from tests.support.mandatory import skip_unless_ci

SERVER = ADMIN_URL.rsplit("/", 1)[0]
# An upload outside the demo's folder, and bytes no text encoding survives.
DOCUMENT = f"documents/{uuid.UUID(int=0xD0C).hex}.bin"
DOCUMENT_BYTES = bytes(range(256)) * 3
STORED_ROW_BYTES = b"\x00\xff\x00 stored as a row \xfe"


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
    """A prototype on SQLite: the demo data and its photos, plus rows and files that are easy
    to get wrong (unicode, nulls, decimals, timestamps, bytes, a user and their session), and
    its backup. Tests read it; none changes it."""
    folder = tmp_path_factory.mktemp("source")
    site = _copy_sqlite(sqlite_template, folder, "source")
    result = cli_sync(site, "project", "demo")
    assert result.code == 0, result.output
    _add_awkward_rows(site.sqlite_path)
    document = site.media_root / DOCUMENT
    document.parent.mkdir(parents=True)
    document.write_bytes(DOCUMENT_BYTES)
    backup = folder / "source.bandstand.gz"
    result = cli_sync(site, "project", "backup", str(backup))
    assert result.code == 0, result.output
    return Source(site, backup)


def _add_awkward_rows(path: Path) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.executescript(
            """
            INSERT INTO piccolo_user (id, username, password, email, active, admin,
                first_name, last_name, superuser, last_login)
            VALUES (7, 'zoë', 'pbkdf2_sha256$600000$c2FsdA$aGFzaA', 'zoe@example.com', 1, 0,
                'Zoë 🎷', NULL, 0, '2026-03-04 05:06:07.891011');
            INSERT INTO sessions (token, user_id, expiry_date, max_expiry_date)
            VALUES ('a-session-token', 7, '2026-03-05 05:06:07', '2026-03-11 05:06:07.5');
            INSERT INTO membership ("user", "group") VALUES (7, (SELECT min(id) FROM "group"));
            INSERT INTO category (name, slug) VALUES ('Ünïcode 音楽 «quotes» ''single''', 'uni');
            INSERT INTO product (id, name, description, price, category, stock, created_at)
            VALUES (1000, 'Saxophone 🎷', 'line one
line "two"	tab \\ backslash', '12345678.99', (SELECT max(id) FROM category), 0,
                '2026-01-02 03:04:05.123456+00:00'),
                (1001, 'Reed', '', '0.10', (SELECT max(id) FROM category), 3,
                '1999-12-31 23:59:59.999999+00:00');
            INSERT INTO registrant (name, email, company, webinar_date, notes, photo,
                registered_at)
            VALUES ('Ñúñez Ångström', 'nunez@example.org', '', '2028-02-29', '', NULL,
                '2026-12-31 23:59:59.999999+00:00');
            INSERT INTO conversation (owner, title, created_at, updated_at)
            VALUES (7, '会話', '2026-05-05 10:00:00+00:00', '2026-05-05 10:00:01+00:00');
            INSERT INTO message (conversation, role, content, provider, status, error,
                created_at)
            VALUES ((SELECT max(id) FROM conversation), 'assistant', 'Ответ ∑ 😀', 'offline',
                'interrupted', '', '2026-05-05 10:00:02.5+00:00');
            INSERT INTO login_throttle (key, failures, window_started)
            VALUES ('client:127.0.0.1', 3, '2026-05-05 10:00:00+00:00');
            """
        )
        connection.execute(
            "INSERT INTO media_file (key, content_type, size, data, created_at) "
            "VALUES (?, 'application/octet-stream', ?, ?, '2026-05-05 10:00:00+00:00')",
            (f"files/{uuid.UUID(int=0xF11E).hex}.bin", len(STORED_ROW_BYTES), STORED_ROW_BYTES),
        )
    connection.close()


@pytest.fixture(scope="package")
def column_types(postgres_template: str) -> dict[str, dict[str, str]]:
    """table -> column -> PostgreSQL type, for comparing rows of either engine."""
    return asyncio.run(postgres_types(f"{SERVER}/{postgres_template}"))
