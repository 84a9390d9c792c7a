"""Files in a folder (`MEDIA_ROOT`): the default, for a machine with a disk of its own."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

import anyio

from bandstand.storage.base import FileMissing, Storage, StoredFile, check_folder, check_key


class FileSystemStorage(Storage):
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def save(self, key: str, data: bytes, content_type: str) -> None:
        await anyio.to_thread.run_sync(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        # Owner-only: the web server's other users, and a static file server pointed at the
        # folder by mistake, can't read them.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        # A reader never sees half a file: the rename is atomic.
        partial.replace(path)

    async def load(self, key: str) -> StoredFile:
        path = self._path(key)
        try:
            data = await anyio.Path(path).read_bytes()
        except FileNotFoundError:
            raise FileMissing(key) from None
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return StoredFile(data=data, content_type=content_type)

    async def delete(self, key: str) -> None:
        await anyio.Path(self._path(key)).unlink(missing_ok=True)

    async def keys(self, folder: str) -> list[str]:
        directory = anyio.Path(self.root / check_folder(folder))
        if not await directory.is_dir():
            return []
        # Dot files are writes in progress.
        return sorted(
            [f"{folder}/{path.name}" async for path in directory.iterdir() if path.name[0] != "."]
        )
