"""A host without a writable disk: what can't work there stops the app with what to set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands.running import environment
from tests.support import PROJECT_ROOT
from tests.support.read_only import on_a_read_only_disk, require_read_only_disks

pytestmark = pytest.mark.engine_independent


def import_main_read_only(temp: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    require_read_only_disks()
    return subprocess.run(
        on_a_read_only_disk(sys.executable, "-c", "import main", temp=temp),
        cwd=PROJECT_ROOT,
        env=environment(**environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sqlite_on_a_read_only_disk_stops_with_what_to_set(tmp_path: Path) -> None:
    result = import_main_read_only(tmp_path, DATABASE_URL="sqlite:///data/read-only/site.sqlite3")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    message = lines[0]
    assert message.startswith("bandstand: configuration error: the SQLite database site.sqlite3")
    assert "is read-only" in message
    assert "DATABASE_URL=postgresql://" in message
    assert "STORAGE_BACKEND=database or s3" in message


def test_sqlite_in_the_temp_folder_works_on_a_read_only_disk(tmp_path: Path) -> None:
    # Only the writable place counts: the same check lets a database in the temp folder through.
    result = import_main_read_only(
        tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/site.sqlite3", MEDIA_ROOT=f"{tmp_path}/media"
    )
    assert result.returncode == 0, result.stderr


def test_media_files_on_a_read_only_disk_stop_with_what_to_set(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    result = import_main_read_only(
        tmp_path,
        DATABASE_URL=fresh_postgres_url,
        STORAGE_BACKEND="filesystem",
        MEDIA_ROOT="data/ro-media",
    )

    assert result.returncode == 1
    message = result.stderr.strip()
    assert "STORAGE_BACKEND=filesystem (MEDIA_ROOT) needs to write to" in message
    assert "STORAGE_BACKEND=database or s3" in message


@pytest.mark.parametrize("backend", ["database", "filesystem"])
def test_postgresql_starts_with_media_in_the_database_or_the_temp_folder(
    fresh_postgres_url: str, backend: str, tmp_path: Path
) -> None:
    media = {"STORAGE_BACKEND": backend, "MEDIA_ROOT": f"{tmp_path}/media"}
    result = import_main_read_only(tmp_path, DATABASE_URL=fresh_postgres_url, **media)
    assert result.returncode == 0, result.stderr
