"""What restore refuses, and what a failed restore leaves behind: nothing changed."""

from __future__ import annotations

import copy
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from tests.backup.conftest import Source
from tests.backup.support import (
    APP,
    SAMPLE_CONF,
    Site,
    Types,
    cli,
    read_backup,
    rows_of,
    sqlite_rows,
    write_backup,
)

pytestmark = pytest.mark.engine_independent

# The framework's own app: its migrations are in every site's schema version.
FRAMEWORK_APP = "bandstand"


async def _add_group(site: Site, name: str) -> None:
    sql = f"INSERT INTO \"group\" (name) VALUES ('{name}')"
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


@pytest.mark.parametrize(
    ("conf", "app"),
    [
        pytest.param(SAMPLE_CONF, APP, id="sample-site"),
        # The project's own site has them too, whatever its features.
        pytest.param("piccolo_conf", "project", id="this-project"),
    ],
)
async def test_help_describes_both_commands(target: Site, conf: str, app: str) -> None:
    site = dataclasses.replace(target, conf=conf)
    backup = await cli(site, app, "backup", "--help")
    restore = await cli(site, app, "restore", "--help")
    assert backup.code == restore.code == 0
    assert "page_size" in backup.output
    assert "replace" in restore.output
    assert "empty" in restore.output


async def test_refuses_a_database_with_data_unless_told_to_replace_it(
    source: Source, target: Site, column_types: Types
) -> None:
    await _add_group(target, "mine")
    before = await rows_of(target, column_types)

    refused = await cli(target, APP, "restore", str(source.backup))
    assert refused.code == 1
    assert "restore: this database is not empty" in refused.output
    assert "--replace=true" in refused.output
    assert await rows_of(target, column_types) == before

    unclear = await cli(target, APP, "restore", str(source.backup), "--replace=yes")
    assert unclear.code == 1
    assert "restore: --replace must be true or false, not 'yes'" in unclear.output

    replaced = await cli(target, APP, "restore", str(source.backup), "--replace=true")
    assert replaced.code == 0, replaced.output
    after = await rows_of(target, column_types)
    assert after == await sqlite_rows(source.site.sqlite_path, column_types)
    assert "mine" not in {row["name"] for row in after["group"]}


def _add_a_newer_migration(lines: list[dict[str, Any]]) -> None:
    lines[0]["migrations"][FRAMEWORK_APP].append("2099-01-01T00:00:00:000000")


async def test_refuses_a_backup_of_another_schema_version(
    source: Source, target: Site, column_types: Types, tmp_path: Path
) -> None:
    # The other cases (older, diverged) are in test_format.py.
    edited = await _edited(source, tmp_path, _add_a_newer_migration)
    refused = await cli(target, APP, "restore", str(edited))
    assert refused.code == 1
    assert (
        "restore: the backup is from a newer schema: this database lacks migration "
        f"2099-01-01T00:00:00:000000 of app '{FRAMEWORK_APP}'; upgrade the code and run "
        "`piccolo migrations forwards all`, then restore"
    ) in refused.output
    assert all(not rows for rows in (await rows_of(target, column_types)).values())


def _forget_the_latest_migration(path: Path) -> str:
    connection = sqlite3.connect(path)
    with connection:
        (latest,) = connection.execute(
            "SELECT max(name) FROM migration WHERE app_name = ?", (FRAMEWORK_APP,)
        ).fetchone()
        connection.execute("DELETE FROM migration WHERE name = ?", (latest,))
    connection.close()
    return str(latest)


async def test_a_database_behind_the_code_is_neither_backed_up_nor_restored_into(
    source: Source, target: Site, tmp_path: Path
) -> None:
    latest = await anyio.to_thread.run_sync(_forget_the_latest_migration, target.sqlite_path)
    expected = (
        f"this database lacks migration {latest} of app '{FRAMEWORK_APP}': run `piccolo "
        "migrations "
        "forwards all` first"
    )
    backup = await cli(target, APP, "backup", str(tmp_path / "behind.gz"))
    assert backup.code == 1
    assert f"backup: {expected}" in backup.output
    assert not await anyio.Path(tmp_path / "behind.gz").exists()
    restore = await cli(target, APP, "restore", str(source.backup))
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
    refused = await cli(target, APP, "restore", str(path))
    assert refused.code == 1
    assert f"restore: {tmp_path}/{expected}" in refused.output
    assert "Traceback" not in refused.output


def _cut_before_the_end(lines: list[dict[str, Any]]) -> None:
    # Header and the first tables' rows only: as if the copy stopped half-way.
    del lines[len(lines) // 2 :]


def _break_a_foreign_key(lines: list[dict[str, Any]]) -> None:
    # A membership in a group that isn't in the backup.
    header = lines[0]
    table = next(t for t in header["tables"] if t["name"] == "membership")
    columns = [c["name"] for c in table["columns"]]
    page = next(line for line in lines if line.get("table") == "membership")
    page["rows"].append(copy.deepcopy(page["rows"][0]))
    page["rows"][-1][columns.index("id")] = 999_999
    page["rows"][-1][columns.index("group")] = 999_999
    table["rows"] += 1
    lines[-1]["rows"] += 1


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(_cut_before_the_end, "is cut short", id="cut-short"),
        pytest.param(_break_a_foreign_key, "rows of table 'membership' don't fit", id="bad-row"),
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
    await _add_group(site, "mine")
    before = await rows_of(site, column_types)
    edited = await _edited(source, tmp_path, edit)

    failed = await cli(site, APP, "restore", str(edited), "--replace=true")
    assert failed.code == 1
    assert expected in failed.output
    assert "(the database is unchanged)" in failed.output
    assert await rows_of(site, column_types) == before
