"""Media across storage backends: files that are rows (the database backend) are backed up
once, with the tables, and land as files in a folder or a bucket; a bucket's files are listed,
backed up and restored as a folder's are."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path

import anyio
import asyncpg
import pytest

from tests.backup.conftest import Source
from tests.backup.sample_app import data
from tests.backup.support import APP, Site, cli, files_under, read_backup
from tests.support.s3_server import all_keys, raw_s3

pytestmark = pytest.mark.engine_independent


def _file_rows(path: Path) -> dict[str, bytes]:
    connection = sqlite3.connect(path)
    try:
        return {
            key: bytes(data) for key, data in connection.execute("SELECT key, data FROM media_file")
        }
    finally:
        connection.close()


@pytest.fixture
def database_backed(new_sqlite_site: Callable[[str], Site]) -> Site:
    site = new_sqlite_site("database-backed")
    return dataclasses.replace(site, storage={"STORAGE_BACKEND": "database"})


async def test_files_stored_as_rows_are_backed_up_once_and_restored_as_files(
    database_backed: Site, new_sqlite_site: Callable[[str], Site], tmp_path: Path
) -> None:
    # The sample's data stores its files through the configured backend: here, as rows.
    loaded = await cli(database_backed, APP, "demo")
    assert loaded.code == 0, loaded.output
    stored = await anyio.to_thread.run_sync(_file_rows, database_backed.sqlite_path)
    assert stored == {
        **{key: file.data for key, file in data.FILES.items()},
        data.ROW_FILE: data.ROW_FILE_BYTES,
    }

    backup = tmp_path / "rows.bandstand.gz"
    done = await cli(database_backed, APP, "backup", str(backup))
    assert done.code == 0, done.output
    lines = await anyio.to_thread.run_sync(read_backup, backup)
    assert lines[0]["storage"] == "database"
    assert [line for line in lines if line["kind"] == "media"] == []  # not twice
    assert next(t for t in lines[0]["tables"] if t["name"] == "media_file")["rows"] == len(stored)

    folder_backed = await anyio.to_thread.run_sync(new_sqlite_site, "folder-backed")
    done = await cli(folder_backed, APP, "restore", str(backup))
    assert done.code == 0, done.output
    assert await files_under(folder_backed.media_root) == stored
    # The rows stay rows too: the tables are restored as they were.
    assert await anyio.to_thread.run_sync(_file_rows, folder_backed.sqlite_path) == stored


@pytest.mark.usefixtures("empty_bucket")
async def test_a_bucket_is_restored_into_and_backed_up_from(
    source: Source,
    new_sqlite_site: Callable[[str], Site],
    s3_server: dict[str, str],
    postgres_site: Site,
    tmp_path: Path,
) -> None:
    source_files = await files_under(source.site.media_root)
    assert set(source_files) == set(data.FILES)
    s3 = {name.upper(): value for name, value in s3_server.items()}
    bucket_backed = dataclasses.replace(
        await anyio.to_thread.run_sync(new_sqlite_site, "bucket-backed"), storage=s3
    )
    done = await cli(bucket_backed, APP, "restore", str(source.backup))
    assert done.code == 0, done.output
    async with raw_s3(s3_server) as client:
        keys = await all_keys(client, s3_server["s3_bucket"])
        in_bucket = {}
        for key in keys:
            response = await client.get_object(Bucket=s3_server["s3_bucket"], Key=key)
            async with response["Body"] as body:
                in_bucket[key] = await body.read()
    assert in_bucket == source_files

    again = tmp_path / "from-bucket.bandstand.gz"
    done = await cli(bucket_backed, APP, "backup", str(again))
    assert done.code == 0, done.output
    lines = await anyio.to_thread.run_sync(read_backup, again)
    assert lines[0]["storage"] == "s3"
    assert {line["key"] for line in lines if line["kind"] == "media"} == set(source_files)

    # ... and into PostgreSQL's database backend: the files become rows, next to the restored
    # ones (whose ids the new rows' must not collide with).
    rows_backed = dataclasses.replace(postgres_site, storage={"STORAGE_BACKEND": "database"})
    done = await cli(rows_backed, APP, "restore", str(again))
    assert done.code == 0, done.output
    connection = await asyncpg.connect(postgres_site.url)
    try:
        records = await connection.fetch("SELECT key, data FROM media_file")
    finally:
        await connection.close()
    restored_rows = await anyio.to_thread.run_sync(_file_rows, source.site.sqlite_path)
    assert restored_rows == {data.ROW_FILE: data.ROW_FILE_BYTES}
    assert {r["key"]: r["data"] for r in records} == {**source_files, **restored_rows}
