"""Helpers for the backup tests: the CLI on a given database of the sample site, and both
engines' rows read with their own drivers (not through the code under test), normalised by
PostgreSQL's column types."""

from __future__ import annotations

import datetime
import decimal
import gzip
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import asyncpg

from tests.backup.sample_app.piccolo_app import APP_NAME
from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO, piccolo

Rows = dict[str, list[dict[str, Any]]]
Types = dict[str, dict[str, str]]

# The sample site: Piccolo's and the framework's apps and a test-only one, none of the project's.
SAMPLE_CONF = "tests.backup.sample_app.piccolo_conf"
# Its commands: `piccolo sample backup`, `piccolo sample restore`...
APP = APP_NAME


@dataclass(frozen=True)
class Site:
    """A database and the media folder (or other storage) the CLI is pointed at."""

    url: str
    media_root: Path
    storage: dict[str, str] | None = None
    conf: str = SAMPLE_CONF

    @property
    def environ(self) -> dict[str, str]:
        storage = self.storage or {"STORAGE_BACKEND": "filesystem"}
        return {
            "PICCOLO_CONF": self.conf,
            "DATABASE_URL": self.url,
            "MEDIA_ROOT": str(self.media_root),
            **storage,
        }

    @property
    def sqlite_path(self) -> Path:
        assert self.url.startswith("sqlite:///")
        return Path(self.url.removeprefix("sqlite:///"))


@dataclass(frozen=True)
class Result:
    code: int
    output: str  # stdout and stderr


async def cli(site: Site, *args: str) -> Result:
    done = await piccolo(*args, **site.environ)
    output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    return Result(done.returncode, output)


def cli_sync(site: Site, *args: str) -> Result:
    done = subprocess.run(
        [PICCOLO, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **site.environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(done.returncode, done.stdout + done.stderr)


# A parent process whose only child is the command: its RUSAGE_CHILDREN is the command's peak.
_MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL).returncode
with open(sys.argv[1], "w") as out:
    out.write(f"{code} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
"""


def peak_rss_kb(site: Site, *args: str) -> int:
    """Runs the CLI command; fails unless it succeeds; its peak resident memory in KiB."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
        subprocess.run(
            [sys.executable, "-c", _MEASURE, report.name, PICCOLO, *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, **site.environ},
            timeout=120,
            check=True,
        )
        code, peak = report.read().split()
    assert code == "0", f"{args} failed"
    return int(peak)


# --- rows, read with each engine's own driver --------------------------------------------


async def postgres_types(url: str) -> Types:
    """table -> column -> PostgreSQL data type: the types both engines' rows are compared as."""
    connection = await asyncpg.connect(url)
    try:
        records = await connection.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name <> 'migration'"
        )
    finally:
        await connection.close()
    types: Types = {}
    for record in records:
        types.setdefault(record["table_name"], {})[record["column_name"]] = record["data_type"]
    return types


async def postgres_rows(url: str, types: Types) -> Rows:
    connection = await asyncpg.connect(url)
    try:
        return {
            table: [
                _normalise(dict(record), columns)
                for record in await connection.fetch(f'SELECT * FROM "{table}" ORDER BY id')
            ]
            for table, columns in types.items()
        }
    finally:
        await connection.close()


async def sqlite_rows(path: Path, types: Types) -> Rows:
    return await anyio.to_thread.run_sync(_sqlite_rows, path, types)


def _sqlite_rows(path: Path, types: Types) -> Rows:
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name <> 'migration'"
            )
        }
        assert tables == set(types), "the two engines have different tables"
        return {
            table: [
                _normalise(dict(row), columns)
                for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY id')
            ]
            for table, columns in types.items()
        }
    finally:
        connection.close()


async def rows_of(site: Site, types: Types) -> Rows:
    if site.url.startswith("sqlite"):
        return await sqlite_rows(site.sqlite_path, types)
    return await postgres_rows(site.url, types)


def _timestamp(value: Any) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(parsed, datetime.datetime)
    return parsed


def canonical_json(value: Any) -> str:
    """jsonb's text is PostgreSQL's own spelling (key order, spaces): compared as parsed, but
    kept as text so JSON's null is not SQL's NULL."""
    parsed = json.loads(value) if isinstance(value, str) else value
    return json.dumps(parsed, sort_keys=True)


NORMALISERS: dict[str, Callable[[Any], Any]] = {
    "boolean": bool,  # SQLite: 0 and 1
    "numeric": lambda v: decimal.Decimal(str(v)),  # SQLite: int, float or text
    "timestamp with time zone": lambda v: _timestamp(v).astimezone(datetime.UTC),
    "timestamp without time zone": _timestamp,
    "date": lambda v: datetime.date.fromisoformat(v) if isinstance(v, str) else v,
    "interval": lambda v: v if isinstance(v, datetime.timedelta) else datetime.timedelta(seconds=v),
    "uuid": lambda v: uuid.UUID(str(v)),  # SQLite: text; asyncpg: its own UUID type
    "bytea": bytes,
    "json": str,  # the text as written: PostgreSQL's json keeps it
    "jsonb": canonical_json,
    "ARRAY": lambda v: json.loads(v) if isinstance(v, str) else list(v),  # SQLite: JSON text
}


def _normalise(row: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    assert set(row) == set(columns), "the two engines have different columns"
    return {
        name: None if value is None else NORMALISERS.get(columns[name], _same)(value)
        for name, value in row.items()
    }


def _same(value: Any) -> Any:
    return value


# --- media folders and backup files -------------------------------------------------------


async def files_under(root: Path) -> dict[str, bytes]:
    return await anyio.to_thread.run_sync(_files_under, root)


def _files_under(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


def read_backup(path: Path) -> list[dict[str, Any]]:
    """Every line of a (small) backup, parsed."""
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def write_backup(path: Path, lines: list[dict[str, Any]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as file:
        file.writelines(json.dumps(line) + "\n" for line in lines)
