"""A prototype's SQLite data, backed up and restored into PostgreSQL, then back into SQLite:
the same rows and the same files each way, and the databases take new rows afterwards."""

from __future__ import annotations

import base64
import decimal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from tests.backup.conftest import SOURCE_PAGE_SIZE, Source
from tests.backup.sample_app import data
from tests.backup.support import (
    APP,
    Rows,
    Site,
    Types,
    canonical_json,
    cli,
    files_under,
    postgres_rows,
    read_backup,
    sqlite_rows,
)

pytestmark = pytest.mark.engine_independent

FRAMEWORK_TABLES = {
    "piccolo_user",
    "sessions",
    "authenticator_secret",
    "group",
    "membership",
    "login_throttle",
    "verified_email",
    "api_token",
    "provider_account",
    "job_worker",
    "audit_entry",
    "ai_call",
    "ai_budget",
}
STORAGE_TABLES = {"media_file"}
SAMPLE_TABLES = {"shelf", "item"}


def _one(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [row for row in rows if all(row[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def _as_compared(name: str, value: Any) -> Any:
    """A value the sample's data wrote, as the rows are compared: jsonb in one spelling."""
    if name == "binary_document" and value is not None:
        return canonical_json(value)
    return value  # (aware timestamps compare as instants, whatever their time zone)


def _has(row: dict[str, Any], values: dict[str, Any]) -> None:
    assert {name: row[name] for name in values} == {
        name: _as_compared(name, value) for name, value in values.items()
    }


def _check_sample_rows(rows: Rows) -> None:
    """What the sample's data wrote, exactly as it went in."""
    for user in data.USERS:
        _has(_one(rows["piccolo_user"], id=user["id"]), {**user, "password": data.PASSWORD_HASH})
    for session in data.SESSIONS:
        _has(_one(rows["sessions"], token=session["token"]), session)
    for group in data.GROUPS:
        _has(_one(rows["group"], id=group["id"]), group)
    assert [(m["user"], m["group"]) for m in rows["membership"]] == [
        (m["user"], m["group"]) for m in data.MEMBERSHIPS
    ]
    for throttle in data.THROTTLES:
        _has(_one(rows["login_throttle"], key=throttle["key"]), throttle)
    assert [(s["id"], s["name"]) for s in rows["shelf"]] == [
        (s["id"], s["name"]) for s in data.SHELVES
    ]
    assert len(rows["item"]) == data.PLAIN_ITEMS + 3
    plain = _one(rows["item"], id=1)
    assert {name: value for name, value in plain.items() if value is not None} == {
        "id": 1,
        "shelf": 1,
        "name": "item 1",
        "price": decimal.Decimal("0.01"),
        "quantity": 1,
    }
    _has(_one(rows["item"], id=data.AWKWARD_ITEM["id"]), data.AWKWARD_ITEM)
    _has(_one(rows["item"], id=data.EMPTY_ITEM["id"]), data.EMPTY_ITEM)
    nulls = _one(rows["item"], id=data.NULL_ITEM["id"])
    assert {name: value for name, value in nulls.items() if value is not None} == data.NULL_ITEM
    stored_row = _one(rows["media_file"], key=data.ROW_FILE)
    assert (stored_row["data"], stored_row["size"]) == (
        data.ROW_FILE_BYTES,
        len(data.ROW_FILE_BYTES),
    )


async def _next_ids(url: str, tables: list[str]) -> dict[str, int]:
    """Each table's next serial id, as a plain insert would get it."""
    connection = await asyncpg.connect(url)
    try:
        return {
            table: await connection.fetchval(
                "SELECT nextval(pg_get_serial_sequence($1, 'id'))", f'"{table}"'
            )
            for table in tables
        }
    finally:
        await connection.close()


async def test_sqlite_to_postgres_and_back(
    source: Source,
    postgres_site: Site,
    new_sqlite_site: Callable[[str], Site],
    column_types: Types,
    tmp_path: Path,
) -> None:
    assert set(column_types) == FRAMEWORK_TABLES | STORAGE_TABLES | SAMPLE_TABLES
    original = await sqlite_rows(source.site.sqlite_path, column_types)
    _check_sample_rows(original)
    source_files = await files_under(source.site.media_root)
    assert source_files == {key: file.data for key, file in data.FILES.items()}

    restored = await cli(postgres_site, APP, "restore", str(source.backup))
    assert restored.code == 0, restored.output
    in_postgres = await postgres_rows(postgres_site.url, column_types)
    assert in_postgres == original
    assert await files_under(postgres_site.media_root) == source_files

    # The sequences continue after the restored ids: a new row gets the next one.
    connection = await asyncpg.connect(postgres_site.url)
    try:
        new_id = await connection.fetchval(
            "INSERT INTO \"group\" (name) VALUES ('After restore') RETURNING id"
        )
    finally:
        await connection.close()
    assert new_id == max(row["id"] for row in original["group"]) + 1
    expected = {
        table: max((r["id"] for r in rows), default=0) + 1
        for table, rows in original.items()
        if table != "group"
    }
    assert await _next_ids(postgres_site.url, list(expected)) == expected

    # ... and back, to a new SQLite database.
    from_postgres = tmp_path / "from-postgres.bandstand.gz"
    backed_up = await cli(postgres_site, APP, "backup", str(from_postgres))
    assert backed_up.code == 0, backed_up.output
    back = await anyio.to_thread.run_sync(new_sqlite_site, "back")
    restored = await cli(back, APP, "restore", str(from_postgres))
    assert restored.code == 0, restored.output
    now_in_postgres = await postgres_rows(postgres_site.url, column_types)
    assert await sqlite_rows(back.sqlite_path, column_types) == now_in_postgres
    assert _one(now_in_postgres["group"], id=new_id)["name"] == "After restore"
    _check_sample_rows(now_in_postgres)
    assert await files_under(back.media_root) == source_files


def test_the_backup_holds_every_table_parents_first_and_each_file_once(source: Source) -> None:
    lines = read_backup(source.backup)
    header, end = lines[0], lines[-1]
    assert (header["kind"], header["format"], header["version"]) == (
        "header",
        "bandstand-backup",
        1,
    )
    assert header["engine"] == "sqlite"
    assert set(header["migrations"]) == {
        "user",
        "session_auth",
        "mfa_authenticator",
        "bandstand",
        APP,
    }
    # Every installed app's tables; Piccolo's `migration` table is the header's migrations.
    order = [table["name"] for table in header["tables"]]
    assert set(order) == FRAMEWORK_TABLES | STORAGE_TABLES | SAMPLE_TABLES
    for parent, child in [
        ("piccolo_user", "membership"),
        ("group", "membership"),
        ("piccolo_user", "item"),
        ("shelf", "item"),
    ]:
        assert order.index(parent) < order.index(child), order

    # The rows in the header's table order, each table's by id, in pages that join up.
    pages = [line for line in lines if line["kind"] == "rows"]
    assert [order.index(page["table"]) for page in pages] == sorted(
        order.index(page["table"]) for page in pages
    )
    for table in header["tables"]:
        ids = [row[0] for page in pages if page["table"] == table["name"] for row in page["rows"]]
        assert len(ids) == table["rows"]
        assert ids == sorted(set(ids))
    item_pages = [page for page in pages if page["table"] == "item"]
    assert [len(page["rows"]) for page in item_pages][:-1] == [SOURCE_PAGE_SIZE] * (
        len(item_pages) - 1
    )
    assert len(item_pages) > 1

    media = {line["key"]: line for line in lines if line["kind"] == "media"}
    assert set(media) == set(data.FILES)  # the file stored as a row is in the rows only
    for key, file in data.FILES.items():
        assert base64.b64decode(media[key]["data"]) == file.data
    assert end == {
        "kind": "end",
        "rows": sum(t["rows"] for t in header["tables"]),
        "media": len(media),
    }
    assert len(media) == header["media"]
