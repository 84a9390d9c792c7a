"""The interface every backend implements, and the file keys they accept."""

from __future__ import annotations

import abc
import re
import uuid

import msgspec

# Keys are made by `new_key`, never taken from a request: a folder, 32 hex digits and an
# extension. Every backend refuses anything else, so no user-written path reaches a disk,
# a table or a bucket.
FOLDER = re.compile(r"[a-z0-9-]{1,40}")
KEY = re.compile(r"[a-z0-9-]{1,40}/[0-9a-f]{32}\.[a-z0-9]{1,5}")


class InvalidKey(ValueError):
    """A key that `new_key` cannot have made."""


class FileMissing(LookupError):
    """No file is stored under the key."""


class StoredFile(msgspec.Struct, frozen=True):
    data: bytes
    content_type: str


def new_key(folder: str, extension: str) -> str:
    return check_key(f"{folder}/{uuid.uuid4().hex}.{extension}")


def check_folder(folder: str) -> str:
    if not FOLDER.fullmatch(folder):
        raise InvalidKey(f"not a storage folder: {folder!r}")
    return folder


def check_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise InvalidKey(f"not a storage key: {key!r}")
    return key


class Storage(abc.ABC):
    """Whole files in and out by key. Files are private: only the app serves them."""

    name: str

    @abc.abstractmethod
    async def save(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing what was there."""

    @abc.abstractmethod
    async def load(self, key: str) -> StoredFile:
        """The file under `key`; raises `FileMissing`."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the file under `key`; a missing file is not an error."""

    @abc.abstractmethod
    async def keys(self, folder: str) -> list[str]:
        """Every key stored in `folder`."""

    async def exists(self, key: str) -> bool:
        try:
            await self.load(key)
        except FileMissing:
            return False
        return True

    async def aclose(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release connections; the app calls it at shutdown."""
