"""What restore refuses, and what a failed restore leaves behind: nothing changed."""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from tests.backup.conftest import Source
from tests.backup.support import (
    Site,
    cli,
    postgres_rows,
    read_backup,
    sqlite_rows,
    write_backup,
)

pytestmark = pytest.mark.engine_independent

Types = dict[str, dict[str, str]]


async def _rows(site: Site, types: Types) -> dict[str, list[dict[str, Any]]]:
    if site.url.startswith("sqlite"):
        return await sqlite_rows(site.sqlite_path, types)
    return await postgres_rows(site.url, types)


async def _add_category(site: Site, name: str) -> None:
    sql = f"INSERT INTO category (name, slug) VALUES ('{name}', '{name}')"
    if site.url.startswith("sqlite"):
        await anyio.to_thread.run_sync(_sqlite_execute, site.sqlite_path, sql)
        return
    connection = await asyncpg.connect(site.url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _sqlite_execute(path: Path, sql: str) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(sql)
    connection.close()


async def _edited(
    source: Source, folder: Path, edit: Callable[[list[dict[str, Any]]], None]
) -> Path:
    """A copy of the source's backup, changed by `edit`."""

    def make() -> Path:
        lines = read_backup(source.backup)
        edit(lines)
        path = folder / "edited.bandstand.gz"
        write_backup(path, lines)
        return path

    return await anyio.to_thread.run_sync(make)


@pytest.fixture
def target(new_sqlite_site: Callable[[str], Site]) -> Site:
    return new_sqlite_site("target")


@pytest.fixture(params=["sqlite", "postgres"])
def either_target(request: pytest.FixtureRequest, new_sqlite_site: Callable[[str], Site]) -> Site:
    if request.param == "sqlite":
        return new_sqlite_site("target")
    site: Site = request.getfixturevalue("postgres_site")
    return site


async def test_help_describes_both_commands(target: Site) -> None:
    backup = await cli(target, "project", "backup", "--help")
    restore = await cli(target, "project", "restore", "--help")
    assert backup.code == restore.code == 0
    assert "page_size" in backup.output
    assert "replace" in restore.output
    assert "empty" in restore.output


async def test_refuses_a_database_with_data_unless_told_to_replace_it(
    source: Source, target: Site, column_types: Types
) -> None:
    await _add_category(target, "mine")
    before = await _rows(target, column_types)

    refused = await cli(target, "project", "restore", str(source.backup))
    assert refused.code == 1
    assert "restore: this database is not empty" in refused.output
    assert "--replace=true" in refused.output
    assert await _rows(target, column_types) == before

    unclear = await cli(target, "project", "restore", str(source.backup), "--replace=yes")
    assert unclear.code == 1
    assert "restore: --replace must be true or false, not 'yes'" in unclear.output

    replaced = await cli(target, "project", "restore", str(source.backup), "--replace=true")
    assert replaced.code == 0, replaced.output
    after = await _rows(target, column_types)
    assert after == await sqlite_rows(source.site.sqlite_path, column_types)
    assert "mine" not in {row["name"] for row in after["category"]}


def _add_a_newer_migration(lines: list[dict[str, Any]]) -> None:
    lines[0]["migrations"]["project"].append("2099-01-01T00:00:00:000000")


async def test_refuses_a_backup_of_another_schema_version(
    source: Source, target: Site, column_types: Types, tmp_path: Path
) -> None:
    # The other cases (older, diverged) are in test_format.py.
    edited = await _edited(source, tmp_path, _add_a_newer_migration)
    refused = await cli(target, "project", "restore", str(edited))
    assert refused.code == 1
    assert (
        "restore: the backup is from a newer schema: this database lacks migration "
        "2099-01-01T00:00:00:000000 of app 'project'; upgrade the code and run "
        "`piccolo migrations forwards all`, then restore"
    ) in refused.output
    assert all(not rows for rows in (await _rows(target, column_types)).values())


def _forget_the_latest_migration(path: Path) -> str:
    connection = sqlite3.connect(path)
    with connection:
        (latest,) = connection.execute(
            "SELECT max(name) FROM migration WHERE app_name = 'project'"
        ).fetchone()
        connection.execute("DELETE FROM migration WHERE name = ?", (latest,))
    connection.close()
    return str(latest)


async def test_a_database_behind_the_code_is_neither_backed_up_nor_restored_into(
    source: Source, target: Site, tmp_path: Path
) -> None:
    latest = await anyio.to_thread.run_sync(_forget_the_latest_migration, target.sqlite_path)
    expected = (
        f"this database lacks migration {latest} of app 'project': run `piccolo migrations "
        "forwards all` first"
    )
    backup = await cli(target, "project", "backup", str(tmp_path / "behind.gz"))
    assert backup.code == 1
    assert f"backup: {expected}" in backup.output
    assert not await anyio.Path(tmp_path / "behind.gz").exists()
    restore = await cli(target, "project", "restore", str(source.backup))
    assert restore.code == 1
    assert f"restore: {expected}" in restore.output


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param("missing.gz", None, "missing.gz: no such file", id="missing"),
        pytest.param("notes.txt", b"hello\n", "notes.txt is not a Bandstand backup", id="text"),
    ],
)
async def test_refuses_files_that_are_not_backups(
    target: Site, tmp_path: Path, name: str, content: bytes | None, expected: str
) -> None:
    # The other kinds of wrong file are in test_format.py.
    path = tmp_path / name
    if content is not None:
        await anyio.Path(path).write_bytes(content)
    refused = await cli(target, "project", "restore", str(path))
    assert refused.code == 1
    assert f"restore: {tmp_path}/{expected}" in refused.output
    assert "Traceback" not in refused.output


def _cut_before_the_end(lines: list[dict[str, Any]]) -> None:
    # Header and the first tables' rows only: as if the copy stopped half-way.
    del lines[len(lines) // 2 :]


def _break_a_foreign_key(lines: list[dict[str, Any]]) -> None:
    header = lines[0]
    columns = [
        c["name"] for c in next(t for t in header["tables"] if t["name"] == "product")["columns"]
    ]
    page = next(line for line in lines if line.get("table") == "product")
    page["rows"].append(copy.deepcopy(page["rows"][0]))
    page["rows"][-1][columns.index("id")] = 999_999
    page["rows"][-1][columns.index("category")] = 999_999
    next(t for t in header["tables"] if t["name"] == "product")["rows"] += 1
    lines[-1]["rows"] += 1


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(_cut_before_the_end, "is cut short", id="cut-short"),
        pytest.param(_break_a_foreign_key, "rows of table 'product' don't fit", id="bad-row"),
    ],
)
async def test_a_failed_restore_leaves_the_database_as_it_was(
    source: Source,
    either_target: Site,
    column_types: Types,
    tmp_path: Path,
    edit: Callable[[list[dict[str, Any]]], None],
    expected: str,
) -> None:
    site = either_target
    await _add_category(site, "mine")
    before = await _rows(site, column_types)
    edited = await _edited(source, tmp_path, edit)

    failed = await cli(site, "project", "restore", str(edited), "--replace=true")
    assert failed.code == 1
    assert expected in failed.output
    assert "(the database is unchanged)" in failed.output
    assert await _rows(site, column_types) == before
