"""Piccolo Admin's media columns on the project's storage, with the site's image checks."""

from __future__ import annotations

import io
from typing import IO, Any

import anyio
from piccolo.columns import Varchar
from piccolo_api.media.base import MediaStorage

from bandstand.storage.base import FileMissing, Storage, new_key
from bandstand.storage.images import UploadRejected, clean_image
from bandstand.storage.routes import MEDIA_PREFIX


class AdminImageStorage(MediaStorage):
    """An image column (holding a storage key) that Piccolo Admin can upload to and show."""

    def __init__(self, column: Varchar, storage: Storage, folder: str, max_bytes: int) -> None:
        super().__init__(column, allowed_extensions=None, allowed_characters=None)
        self.storage = storage
        self.folder = folder
        self.max_bytes = max_bytes

    def __hash__(self) -> int:
        # MediaStorage compares by hash, and the admin refuses two storages for one column.
        column = self.column._meta
        return hash((type(self), column.table._meta.tablename, column.name))

    async def store_file(self, file_name: str, file: IO[bytes], user: Any = None) -> str:
        # The admin hands over its spooled upload: read it in a thread, one byte past the
        # limit so an oversize file is told apart without reading all of it.
        data = await anyio.to_thread.run_sync(file.read, self.max_bytes + 1)
        try:
            image = await clean_image(data, self.max_bytes)
        except UploadRejected as error:
            raise ValueError(error.detail) from None  # the admin shows it as a 422
        key = new_key(self.folder, image.extension)
        await self.storage.save(key, image.data, image.content_type)
        return key

    async def generate_file_url(self, file_key: str, root_url: str, user: Any = None) -> str:
        return MEDIA_PREFIX + file_key

    async def get_file(self, file_key: str) -> IO[bytes] | None:
        try:
            return io.BytesIO((await self.storage.load(file_key)).data)
        except FileMissing:
            return None

    async def delete_file(self, file_key: str) -> None:
        await self.storage.delete(file_key)

    async def bulk_delete_files(self, file_keys: list[str]) -> None:
        for key in file_keys:
            await self.storage.delete(key)

    async def get_file_keys(self) -> list[str]:
        return await self.storage.keys(self.folder)
