"""Every uploaded file's key in the configured storage backend.

`Storage.keys` lists one folder; the folders are whatever the features used, so they are
found by looking: the media root's sub-folders, or the bucket's top-level prefixes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread

from bandstand.backup.errors import BackupError
from bandstand.storage.base import FOLDER, Storage
from bandstand.storage.database import DatabaseStorage
from bandstand.storage.filesystem import FileSystemStorage

if TYPE_CHECKING:
    from bandstand.storage.s3 import S3Storage


def stores_rows(storage: Storage) -> bool:
    """The database backend's files are rows of `media_file`: backed up with the tables."""
    return isinstance(storage, DatabaseStorage)


async def media_keys(storage: Storage) -> list[str]:
    if stores_rows(storage):
        return []
    if isinstance(storage, FileSystemStorage):
        folders = await anyio.to_thread.run_sync(_folders_on_disk, storage.root)
    else:
        from bandstand.storage.s3 import S3Storage  # botocore is large: loaded only when used

        if not isinstance(storage, S3Storage):
            raise BackupError(f"backups can't list the files of the {storage.name!r} storage")
        folders = await _folders_in_bucket(storage)
    return [key for folder in folders for key in await storage.keys(folder)]


def _folders_on_disk(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and FOLDER.fullmatch(p.name))


async def _folders_in_bucket(storage: S3Storage) -> list[str]:
    client = await storage._get_client()
    folders: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=storage.bucket, Delimiter="/"):
        for prefix in page.get("CommonPrefixes", []):
            folder = prefix.get("Prefix", "").removesuffix("/")
            if FOLDER.fullmatch(folder):
                folders.append(folder)
    return sorted(folders)
