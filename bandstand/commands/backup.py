"""`piccolo project backup` and `piccolo project restore`: the database and uploads, one file."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piccolo.engine.finder import engine_finder

from bandstand.backup.errors import BackupError
from bandstand.backup.progress import DEFAULT_PAGE_SIZE, Summary
from bandstand.settings import get_settings

if TYPE_CHECKING:
    from piccolo.engine.base import Engine
    from rich.progress import TaskID

    from bandstand.storage.base import Storage


class Bar:
    """The progress as a rich progress bar, shown once the total is known (not before a
    refusal)."""

    def __init__(self, action: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.action = action
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        self.task: TaskID | None = None

    def start(self, total: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task(self.action, total=total)

    def advance(self, amount: int, step: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=amount, description=f"{self.action}: {step}")

    def stop(self, *, succeeded: bool) -> None:
        if self.task is None:
            return
        if succeeded:
            self.progress.update(self.task, description=f"{self.action}: done")
        self.progress.stop()


@asynccontextmanager
async def _running(command: str) -> AsyncIterator[tuple[Engine[Any], Storage, Bar]]:
    from bandstand.storage.backends import create_storage

    engine = engine_finder()
    if engine is None:
        sys.exit(f"{command}: no database engine is configured (piccolo_conf.py)")
    storage = create_storage(get_settings())
    bar = Bar(command)
    succeeded = False
    try:
        yield engine, storage, bar
        succeeded = True
    except BackupError as error:
        sys.exit(f"{command}: {error}")
    except (ConnectionError, TimeoutError) as error:
        sys.exit(f"{command}: cannot reach the database: {error}")
    except OSError as error:  # a full disk...
        sys.exit(f"{command}: {error}")
    finally:
        bar.stop(succeeded=succeeded)
        await storage.aclose()


def _done(summary: Summary, what: str) -> str:
    return f"{what} {summary.rows} rows of {summary.tables} tables and {summary.media} files"


async def backup(file: str, page_size: int = DEFAULT_PAGE_SIZE) -> None:
    """
    Write every table's rows and the uploaded files (of STORAGE_BACKEND) to one file: a
    portable, versioned backup that `piccolo project restore` reads into SQLite or PostgreSQL.
    The file is gzip'd JSON Lines, readable by the owner only; it appears only once complete.

    :param file:
        where to write the backup, e.g. backup.bandstand.gz (replaced if it exists).
    :param page_size:
        rows read per query; memory use grows with it, not with the tables.
    """
    if not isinstance(file, str):
        sys.exit("backup: give the file to write, e.g. backup.bandstand.gz")
    if not isinstance(page_size, int) or page_size < 1:
        sys.exit(f"backup: --page_size must be a whole number of at least 1, not {page_size!r}")
    from bandstand.backup.dump import dump

    path = Path(file)
    async with _running("backup") as (engine, storage, bar):
        summary = await dump(engine, storage, path, bar, page_size=page_size)
    print(_done(summary, f"backed up to {path}:"))


async def restore(file: str, replace: bool = False) -> None:
    """
    Read a backup made by `piccolo project backup` into this database (any engine) and its
    files into STORAGE_BACKEND, in one transaction: on any error nothing changes. The database
    must be empty and migrated to the backup's schema version (`piccolo migrations forwards
    all`).

    :param file:
        the backup file to read.
    :param replace:
        true: delete all the data in this database first, instead of refusing a non-empty one.
    """
    if not isinstance(file, str):
        sys.exit("restore: give the backup file to read")
    if not isinstance(replace, bool):
        sys.exit(f"restore: --replace must be true or false, not {replace!r}")
    from bandstand.backup.restore import restore as restore_backup

    path = Path(file)
    async with _running("restore") as (engine, storage, bar):
        summary = await restore_backup(engine, storage, path, bar, replace=replace)
    print(_done(summary, f"restored from {path}:"))
