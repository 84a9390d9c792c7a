"""The backup file: gzip'd JSON Lines, written and read one line at a time.

Line 1 is the `Header` (what the file is, its format version, the schema version and the
tables), then the tables' rows a page per `Rows` line in foreign-key order, then one `Media`
line per uploaded file, then `End`, whose absence means the file was cut short. Pages and
files are the largest things ever held in memory, so tables and media folders of any size
stream through.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.to_thread
import msgspec

from bandstand.backup.errors import BackupError

FORMAT = "bandstand-backup"
# Raised whenever a change would make older Bandstands misread a file; they refuse it then.
VERSION = 1


class ColumnInfo(msgspec.Struct, frozen=True):
    name: str
    type: str  # the Piccolo column class, e.g. "Timestamptz"


class TableInfo(msgspec.Struct, frozen=True):
    name: str
    primary_key: str
    columns: list[ColumnInfo]
    rows: int


class Header(msgspec.Struct, frozen=True, tag_field="kind", tag="header"):
    format: str
    version: int
    created_at: str
    engine: str  # "sqlite" or "postgres": for the reader's information only
    storage: str  # the storage backend the media came from
    # Applied migration ids per Piccolo app: the schema version a restore must match.
    migrations: dict[str, list[str]]
    tables: list[TableInfo]
    media: int  # files listed when the backup started


class Rows(msgspec.Struct, frozen=True, tag_field="kind", tag="rows"):
    table: str
    rows: list[list[Any]]  # values in the order of the table's `columns`, see `values`


class Media(msgspec.Struct, frozen=True, tag_field="kind", tag="media"):
    key: str
    content_type: str
    data: bytes  # base64 in the file


class End(msgspec.Struct, frozen=True, tag_field="kind", tag="end"):
    rows: int
    media: int


Record = Rows | Media | End

# Any other file would be read whole looking for the header's line end.
HEADER_LIMIT = 1024 * 1024

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Record] = msgspec.json.Decoder(Record)


class BackupWriter:
    """Writes `<path>.partial` and renames it to `path` on success: a backup that failed
    half-way never looks like a good one."""

    def __init__(self, path: Path, file: gzip.GzipFile) -> None:
        self.path = path
        self.partial = _partial(path)
        self._file = file

    @classmethod
    async def create(cls, path: Path) -> Self:
        try:
            file = await anyio.to_thread.run_sync(_open_for_writing, _partial(path))
        except OSError as error:
            raise BackupError(f"cannot write {path}: {error.strerror or error}") from None
        return cls(path, file)

    async def write(self, record: Header | Record) -> None:
        await anyio.to_thread.run_sync(self._file.write, _encoder.encode(record) + b"\n")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self._finish, kind is None)

    def _finish(self, succeeded: bool) -> None:
        try:
            self._file.close()  # flushes: a full disk shows here
            if succeeded:
                self.partial.replace(self.path)
                return
        except OSError:
            self.partial.unlink(missing_ok=True)
            raise
        self.partial.unlink(missing_ok=True)


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def _open_for_writing(path: Path) -> gzip.GzipFile:
    # Owner-only from the start: a backup holds password hashes and every uploaded file.
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return gzip.open(path, "wb", compresslevel=6)


class BackupReader:
    """Reads a backup line by line; every way a file can be wrong becomes a `BackupError`."""

    def __init__(self, path: Path, file: gzip.GzipFile) -> None:
        self.path = path
        self._file = file

    @classmethod
    async def open(cls, path: Path) -> Self:
        try:
            file = await anyio.to_thread.run_sync(gzip.open, path, "rb")
        except FileNotFoundError:
            raise BackupError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise BackupError(f"{path} is a folder, not a backup file") from None
        except OSError as error:
            raise BackupError(f"cannot read {path}: {error.strerror or error}") from None
        return cls(path, file)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await anyio.to_thread.run_sync(self._file.close)

    async def header(self) -> Header:
        """The first line, checked: a Bandstand backup, in a format version this code reads."""
        not_a_backup = BackupError(f"{self.path} is not a Bandstand backup")
        try:
            line = await self._readline(HEADER_LIMIT)
            data = msgspec.json.decode(line)
        except (BackupError, msgspec.DecodeError):
            raise not_a_backup from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise not_a_backup
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise not_a_backup
        if version > VERSION:
            raise BackupError(
                f"{self.path} is in backup format {version}, written by a newer Bandstand; "
                f"this one reads format {VERSION} and older: restore with the newer code"
            )
        try:
            return msgspec.convert(data, Header)
        except msgspec.ValidationError as error:
            raise BackupError(f"{self.path} has a damaged header: {error}") from None

    async def record(self) -> Record:
        """The next line; raises `BackupError` at the end of a file that has no `End`."""
        line = await self._readline()
        if not line:
            raise BackupError(f"{self.path} is cut short: it ends before the end of the backup")
        try:
            return _decoder.decode(line)
        except msgspec.DecodeError as error:
            raise BackupError(f"{self.path} is damaged: {error}") from None

    async def _readline(self, limit: int = -1) -> bytes:
        try:
            return await anyio.to_thread.run_sync(self._file.readline, limit)
        except gzip.BadGzipFile:
            raise BackupError(f"{self.path} is not a Bandstand backup") from None
        except EOFError:
            raise BackupError(
                f"{self.path} is cut short (the compressed data ends early)"
            ) from None
        except zlib.error as error:
            raise BackupError(f"{self.path} is damaged: {error}") from None
