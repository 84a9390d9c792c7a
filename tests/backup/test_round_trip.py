"""A prototype's SQLite data, backed up and restored into PostgreSQL, then back into SQLite:
the same rows and the same files each way, and the databases take new rows afterwards."""

from __future__ import annotations

import base64
import datetime
import decimal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from tests.backup.conftest import DOCUMENT, DOCUMENT_BYTES, STORED_ROW_BYTES, Source
from tests.backup.support import (
    Rows,
    Site,
    cli,
    files_under,
    postgres_rows,
    read_backup,
    sqlite_rows,
)

pytestmark = pytest.mark.engine_independent


def _one(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [row for row in rows if all(row[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def _check_awkward_rows(rows: Rows) -> None:
    """What the source added beyond the demo, exactly as it went in."""
    user = _one(rows["piccolo_user"], id=7)
    assert (user["first_name"], user["last_name"], user["active"]) == ("Zoë 🎷", None, True)
    assert user["last_login"] == datetime.datetime(2026, 3, 4, 5, 6, 7, 891011)
    saxophone = _one(rows["product"], id=1000)
    assert saxophone["name"] == "Saxophone 🎷"
    assert saxophone["description"] == 'line one\nline "two"\ttab \\ backslash'
    assert saxophone["price"] == decimal.Decimal("12345678.99")
    assert saxophone["created_at"] == datetime.datetime(
        2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.UTC
    )
    assert _one(rows["product"], id=1001)["price"] == decimal.Decimal("0.10")
    assert _one(rows["registrant"], email="nunez@example.org")["photo"] is None
    assert _one(rows["message"], status="interrupted")["content"] == "Ответ ∑ 😀"
    assert _one(rows["media_file"], size=len(STORED_ROW_BYTES))["data"] == STORED_ROW_BYTES


async def _next_ids(url: str, rows: Rows) -> dict[str, int]:
    """Each table's next serial id, as a plain insert would get it."""
    connection = await asyncpg.connect(url)
    try:
        return {
            table: await connection.fetchval(
                "SELECT nextval(pg_get_serial_sequence($1, 'id'))", f'"{table}"'
            )
            for table in rows
        }
    finally:
        await connection.close()


async def test_sqlite_to_postgres_and_back(
    source: Source,
    postgres_site: Site,
    new_sqlite_site: Callable[[str], Site],
    column_types: dict[str, dict[str, str]],
    tmp_path: Path,
) -> None:
    original = await sqlite_rows(source.site.sqlite_path, column_types)
    _check_awkward_rows(original)
    source_files = await files_under(source.site.media_root)
    assert DOCUMENT in source_files
    assert sum(key.startswith("registrants/") for key in source_files) >= 3  # demo photos

    restored = await cli(postgres_site, "project", "restore", str(source.backup))
    assert restored.code == 0, restored.output
    in_postgres = await postgres_rows(postgres_site.url, column_types)
    assert in_postgres == original
    assert await files_under(postgres_site.media_root) == source_files

    # The sequences continue after the restored ids: a new row gets the next one.
    connection = await asyncpg.connect(postgres_site.url)
    try:
        new_id = await connection.fetchval(
            "INSERT INTO category (name, slug) VALUES ('After restore', 'after') RETURNING id"
        )
    finally:
        await connection.close()
    assert new_id == max(row["id"] for row in original["category"]) + 1
    expected = {
        table: max((r["id"] for r in rows), default=0) + 1 for table, rows in original.items()
    }
    del expected["category"]
    assert await _next_ids(postgres_site.url, {t: original[t] for t in expected}) == expected

    # ... and back, to a new SQLite database.
    from_postgres = tmp_path / "from-postgres.bandstand.gz"
    backed_up = await cli(postgres_site, "project", "backup", str(from_postgres))
    assert backed_up.code == 0, backed_up.output
    back = await anyio.to_thread.run_sync(new_sqlite_site, "back")
    restored = await cli(back, "project", "restore", str(from_postgres))
    assert restored.code == 0, restored.output
    now_in_postgres = await postgres_rows(postgres_site.url, column_types)
    assert await sqlite_rows(back.sqlite_path, column_types) == now_in_postgres
    assert _one(now_in_postgres["category"], id=new_id)["name"] == "After restore"
    _check_awkward_rows(now_in_postgres)
    assert await files_under(back.media_root) == source_files


def test_the_backup_holds_each_file_once(source: Source) -> None:
    lines = read_backup(source.backup)
    header, end = lines[0], lines[-1]
    assert (header["kind"], header["format"], header["version"]) == (
        "header",
        "bandstand-backup",
        1,
    )
    assert header["engine"] == "sqlite"
    assert set(header["migrations"]) == {"user", "session_auth", "bandstand", "project"}
    assert "migration" not in {table["name"] for table in header["tables"]}
    media = {line["key"] for line in lines if line["kind"] == "media"}
    assert DOCUMENT in media
    assert end == {
        "kind": "end",
        "rows": sum(t["rows"] for t in header["tables"]),
        "media": len(media),
    }
    assert len(media) == header["media"]
    document = next(line for line in lines if line.get("key") == DOCUMENT)
    assert base64.b64decode(document["data"]) == DOCUMENT_BYTES
