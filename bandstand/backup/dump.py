"""Writing a backup: the header, every table a page at a time, then the media files."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.table import Table

from bandstand.backup.database import snapshot
from bandstand.backup.errors import BackupError
from bandstand.backup.format import FORMAT, VERSION, BackupWriter, End, Header, Media, Rows
from bandstand.backup.media import media_keys
from bandstand.backup.progress import Progress, Summary
from bandstand.backup.schema import (
    check_migrated,
    describe,
    tables_to_back_up,
)
from bandstand.backup.values import codec_for
from bandstand.database.migrations import applied_migrations, code_migrations
from bandstand.storage.base import FileMissing, Storage


async def dump(
    engine: Engine[Any], storage: Storage, path: Path, progress: Progress, *, page_size: int
) -> Summary:
    tables = tables_to_back_up()
    async with snapshot(engine):
        migrations = await applied_migrations()
        check_migrated(await code_migrations(), migrations)
        infos = [describe(table, await table.count()) for table in tables]
        keys = await media_keys(storage)
        header = Header(
            format=FORMAT,
            version=VERSION,
            created_at=datetime.datetime.now(datetime.UTC).isoformat(),
            engine=engine.engine_type,
            storage=storage.name,
            migrations=migrations,
            tables=infos,
            media=len(keys),
        )
        writer = await BackupWriter.create(path)
        progress.start(sum(info.rows for info in infos) + len(keys))
        async with writer:
            await writer.write(header)
            rows = 0
            for table in tables:
                async for page in _pages(table, page_size):
                    await writer.write(Rows(table=table._meta.tablename, rows=page))
                    rows += len(page)
                    progress.advance(len(page), table._meta.tablename)
            media = 0
            for key in keys:
                try:
                    stored = await storage.load(key)
                except FileMissing:  # deleted since it was listed
                    progress.advance(1, "media")
                    continue
                except Exception as error:  # the backend's: permissions, the network...
                    raise BackupError(
                        f"could not read {key} from the {storage.name} storage: {error}"
                    ) from error
                await writer.write(
                    Media(key=key, content_type=stored.content_type, data=stored.data)
                )
                media += 1
                progress.advance(1, "media")
            await writer.write(End(rows=rows, media=media))
    return Summary(tables=len(tables), rows=rows, media=media)


async def _pages(table: type[Table], page_size: int) -> AsyncIterator[list[list[Any]]]:
    """The table's rows, encoded, by primary key order: `WHERE pk > last ... LIMIT n` pages
    (no server-side cursor, so it works through transaction-mode poolers too)."""
    columns = table._meta.columns
    codecs = [codec_for(column) for column in columns]
    names = [column._meta.name for column in columns]
    key = table._meta.primary_key
    last: Any = None
    while True:
        query = table.select(*columns).order_by(key).limit(page_size)
        if last is not None:
            query = query.where(key > last)
        rows: list[dict[str, Any]] = await query
        if not rows:
            return
        yield [
            [
                None if (value := row[name]) is None else codec.encode(value)
                for name, codec in zip(names, codecs, strict=True)
            ]
            for row in rows
        ]
        if len(rows) < page_size:
            return
        last = rows[-1][key._meta.name]
