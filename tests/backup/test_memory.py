"""Tables of any size stream through: a backup and a restore of tens of thousands of rows use
about the memory of an empty one, and loading the table whole would show."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.backup.support import APP, Site, peak_rss_kb

pytestmark = pytest.mark.engine_independent

ROWS = 12_000
TEXT = 2048  # characters of random hex per row: 24 MiB of text, which compresses only 2:1
PAGE = 250
# Far below the table's size: holding its rows at once costs more than the text alone.
ALLOWANCE_KB = 10 * 1024


def _fill(path: Path) -> int:
    connection = sqlite3.connect(path)
    with connection:
        shelf = connection.execute(
            "INSERT INTO shelf (name) VALUES ('Bulk') RETURNING id"
        ).fetchone()[0]
        connection.executemany(
            "INSERT INTO item (shelf, name, notes, price, added_at) "
            "VALUES (?, ?, ?, '9.99', '2026-01-01 00:00:00+00:00')",
            ((shelf, f"item {n}", os.urandom(TEXT // 2).hex()) for n in range(ROWS)),
        )
    connection.close()
    return ROWS * TEXT


def _count(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT count(*) FROM item").fetchone()[0])
    finally:
        connection.close()


def test_backup_and_restore_memory_stays_flat(
    new_sqlite_site: Callable[[str], Site], tmp_path: Path
) -> None:
    empty, large = new_sqlite_site("empty"), new_sqlite_site("large")
    text = _fill(large.sqlite_path)
    empty_backup, large_backup = tmp_path / "empty.gz", tmp_path / "large.gz"

    baseline = peak_rss_kb(empty, APP, "backup", str(empty_backup), f"--page_size={PAGE}")
    streamed = peak_rss_kb(large, APP, "backup", str(large_backup), f"--page_size={PAGE}")
    assert text > 2 * ALLOWANCE_KB * 1024
    assert large_backup.stat().st_size > ALLOWANCE_KB * 1024
    assert streamed - baseline < ALLOWANCE_KB, (baseline, streamed)

    # The control: the whole table in one page is what the measurement must catch.
    whole = peak_rss_kb(large, APP, "backup", str(tmp_path / "x.gz"), f"--page_size={ROWS}")
    assert whole - baseline > ALLOWANCE_KB, (baseline, whole)

    into_empty, into_large = new_sqlite_site("into-empty"), new_sqlite_site("into-large")
    baseline = peak_rss_kb(into_empty, APP, "restore", str(empty_backup))
    streamed = peak_rss_kb(into_large, APP, "restore", str(large_backup))
    assert _count(into_large.sqlite_path) == ROWS
    assert streamed - baseline < ALLOWANCE_KB, (baseline, streamed)
