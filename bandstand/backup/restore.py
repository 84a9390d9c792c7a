"""Reading a backup into this database, all in one transaction, and its media into storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.table import Table

from bandstand.backup.database import reset_sequences, rows_per_insert
from bandstand.backup.errors import BackupError
from bandstand.backup.format import BackupReader, End, Header, Rows, TableInfo
from bandstand.backup.media import stores_rows
from bandstand.backup.progress import Progress, Summary
from bandstand.backup.schema import (
    check_migrated,
    check_same_schema,
    check_same_tables,
    tables_to_back_up,
)
from bandstand.backup.values import codec_for
from bandstand.database.migrations import applied_migrations, code_migrations
from bandstand.storage.base import Storage
from bandstand.storage.tables import MediaFile

REPLACE_FLAG = "--replace=true"


class TableLoader:
    """Decodes a table's pages and inserts them in statements the engine accepts."""

    def __init__(self, table: type[Table], info: TableInfo) -> None:
        self.table = table
        self.info = info
        self.columns = [table._meta.get_column_by_name(column.name) for column in info.columns]
        self.codecs = [codec_for(column) for column in self.columns]
        self.chunk = rows_per_insert(len(self.columns))
        self.inserted = 0

    def decode(self, rows: list[list[Any]]) -> list[Table]:
        try:
            return [
                self.table(
                    _data={
                        column: None if value is None else codec.decode(value)
                        for column, codec, value in zip(self.columns, self.codecs, row, strict=True)
                    }
                )
                for row in rows
            ]
        except (ValueError, TypeError) as error:
            raise BackupError(f"a row of table {self.info.name!r} is damaged: {error}") from None

    async def insert(self, rows: list[list[Any]]) -> list[Table]:
        instances = self.decode(rows)
        for start in range(0, len(instances), self.chunk):
            try:
                await self.table.insert(*instances[start : start + self.chunk])
            except Exception as error:  # the driver's: a constraint, a value out of range...
                raise BackupError(
                    f"rows of table {self.info.name!r} don't fit this database: {error}"
                ) from error
        self.inserted += len(instances)
        return instances


async def restore(
    engine: Engine[Any], storage: Storage, path: Path, progress: Progress, *, replace: bool
) -> Summary:
    tables = tables_to_back_up()
    async with await BackupReader.open(path) as reader:
        header = await reader.header()
        check_same_tables(header, tables)
        by_name = {table._meta.tablename: table for table in tables}
        loaders = {info.name: TableLoader(by_name[info.name], info) for info in header.tables}
        # One transaction (IMMEDIATE on SQLite): any failure leaves the database as it was.
        async with engine.transaction():
            here = await applied_migrations()
            check_migrated(await code_migrations(), here)
            check_same_schema(header, here)
            await _make_room(tables, replace=replace)
            progress.start(sum(info.rows for info in header.tables) + header.media)
            try:
                media = await _load(
                    engine, tables, reader, loaders, storage, progress, header=header
                )
            except BackupError as error:
                raise BackupError(f"{error} (the database is unchanged)") from None
    rows = sum(loader.inserted for loader in loaders.values())
    return Summary(tables=len(tables), rows=rows, media=media)


async def _load(
    engine: Engine[Any],
    tables: list[type[Table]],
    reader: BackupReader,
    loaders: dict[str, TableLoader],
    storage: Storage,
    progress: Progress,
    *,
    header: Header,
) -> int:
    """Every row and file up to the `End` line; the number of files."""
    # Files that were rows of the source's database storage go into this one's backend too.
    copy_file_rows = header.storage == "database" and not stores_rows(storage)
    media = 0
    rows_done = False
    while not isinstance(record := await reader.record(), End):
        if isinstance(record, Rows):
            if rows_done:
                raise BackupError(f"{reader.path} is damaged: it has rows after the files")
            loader = loaders.get(record.table)
            if loader is None:
                raise BackupError(f"{reader.path} has rows of table {record.table!r}, not listed")
            instances = await loader.insert(record.rows)
            if copy_file_rows and loader.table is MediaFile:
                for file in instances:
                    row = file.to_dict(MediaFile.key, MediaFile.data, MediaFile.content_type)
                    await _save(storage, row["key"], bytes(row["data"]), row["content_type"])
            progress.advance(len(record.rows), record.table)
        else:
            if not rows_done:
                # Before the first file: the database backend inserts it with a new id.
                await reset_sequences(engine, tables)
                rows_done = True
            await _save(storage, record.key, record.data, record.content_type)
            media += 1
            progress.advance(1, "media")
    if not rows_done:
        await reset_sequences(engine, tables)
    _check_complete(reader.path, header, loaders, record, media)
    return media


async def _save(storage: Storage, key: str, data: bytes, content_type: str) -> None:
    try:
        await storage.save(key, data, content_type)
    except Exception as error:  # the backend's: a full disk, a refused upload...
        raise BackupError(
            f"could not store {key} in the {storage.name} storage: {error}"
        ) from error


async def _make_room(tables: list[type[Table]], *, replace: bool) -> None:
    if replace:
        for table in reversed(tables):  # children first
            await table.delete(force=True)
        return
    for table in tables:
        if await table.exists().where(table._meta.primary_key.is_not_null()):
            raise BackupError(
                f"this database is not empty (table {table._meta.tablename!r} has rows): "
                f"restore into an empty database, or pass {REPLACE_FLAG} to delete all of "
                "its data first"
            )


def _check_complete(
    path: Path, header: Header, loaders: dict[str, TableLoader], end: End, media: int
) -> None:
    for info in header.tables:
        if loaders[info.name].inserted != info.rows:
            raise BackupError(
                f"{path} is damaged: the header lists {info.rows} rows of table "
                f"{info.name!r}, the file has {loaders[info.name].inserted}"
            )
    if end.media != media:
        raise BackupError(f"{path} is damaged: it ends after {end.media} files, it has {media}")
