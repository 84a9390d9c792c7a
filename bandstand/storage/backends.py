"""The storage `STORAGE_BACKEND` names, built from the settings."""

from __future__ import annotations

from pathlib import Path

from bandstand.disks import require_writable
from bandstand.settings import Settings
from bandstand.storage.base import Storage
from bandstand.storage.database import DatabaseStorage
from bandstand.storage.filesystem import FileSystemStorage


def create_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "database":
        return DatabaseStorage()
    if settings.storage_backend == "s3":
        from bandstand.storage.s3 import S3Storage  # botocore is large: loaded only when used

        return S3Storage.from_settings(settings)
    return FileSystemStorage(_media_root(settings))


def require_writable_storage(settings: Settings) -> None:
    """At start-up: refuse a media folder the app can't write to (a read-only disk)."""
    if settings.storage_backend == "filesystem":
        require_writable(_media_root(settings), needed_by="STORAGE_BACKEND=filesystem (MEDIA_ROOT)")


def _media_root(settings: Settings) -> Path:
    return settings.path(settings.media_root)
