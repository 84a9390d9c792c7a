"""Files as rows: for a PaaS whose disk is read-only or wiped on each deploy.

Fine for avatars and documents of a few MB; for many large files, use S3.
"""

from __future__ import annotations

from bandstand.storage.base import FileMissing, Storage, StoredFile, check_folder, check_key
from bandstand.storage.tables import MediaFile


class DatabaseStorage(Storage):
    name = "database"

    async def save(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        async with MediaFile._meta.db.transaction():
            await MediaFile.delete().where(MediaFile.key == key)
            await MediaFile.insert(
                MediaFile(key=key, content_type=content_type, size=len(data), data=data)
            )

    async def load(self, key: str) -> StoredFile:
        row = (
            await MediaFile.select(MediaFile.data, MediaFile.content_type)
            .where(MediaFile.key == check_key(key))
            .first()
        )
        if row is None:
            raise FileMissing(key)
        return StoredFile(data=bytes(row["data"]), content_type=row["content_type"])

    async def delete(self, key: str) -> None:
        await MediaFile.delete().where(MediaFile.key == check_key(key))

    async def keys(self, folder: str) -> list[str]:
        rows = (
            await MediaFile.select(MediaFile.key)
            .where(MediaFile.key.like(f"{check_folder(folder)}/%"))
            .order_by(MediaFile.key)
            .output(as_list=True)
        )
        return list(rows)
