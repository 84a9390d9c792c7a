"""The folders the app writes to, checked at start-up: a read-only disk is a setting to change.

Some hosts give the app no writable disk at all (Leapcell's free tier, containers run with a
read-only root file system), and a container's code is often owned by another user than the
one the app runs as. Finding out at the first upload or the first write to SQLite is too late.
"""

from __future__ import annotations

import os
from pathlib import Path

from bandstand.settings import SettingsError

ON_A_READ_ONLY_DISK = (
    "on a host without a writable disk, use PostgreSQL (DATABASE_URL=postgresql://…) and "
    "STORAGE_BACKEND=database or s3: the app then writes only to the temp folder"
)


def unwritable(folder: Path) -> Path | None:
    """Where writing into `folder` fails: the folder itself, or the nearest existing parent
    that would have to hold it; None when the process may write there."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return None if os.access(existing, os.W_OK) else existing


def require_writable(folder: Path, *, needed_by: str) -> None:
    """Raise `SettingsError`, naming what to set instead, if `folder` can't be written."""
    blocked = unwritable(folder)
    if blocked is not None:
        raise SettingsError(
            f"{needed_by} needs to write to {folder}, but {blocked} is read-only; "
            f"{ON_A_READ_ONLY_DISK}"
        )
