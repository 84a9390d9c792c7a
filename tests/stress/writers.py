"""One of several processes writing to one SQLite file through the app's own engine.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m tests.stress.writers --prepare
    DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m tests.stress.writers \
        --writer 3 --writes 500 --tasks 4 --start-at 1764130000.0

`--prepare` makes the sample site's tables and the band every writer's fans join. A writer
waits until `--start-at` (wall-clock seconds) so that every writer starts at once, then makes
`--writes` writes from `--tasks` concurrent tasks, alternating two ways of writing: a fan
joining as the sample site's API does it (a transaction that writes the fan, then counts it),
and a transaction that reads and then writes (the shape that fails at once with "database is
locked" in SQLite's default deferred mode). Prints one JSON line: the writes done and every
error.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys
import time

from piccolo.engine.finder import engine_finder

from bandstand.database.sqlite import TunedSQLiteEngine
from tests.support import tables
from tests.support.sample import queries
from tests.support.sample.schemas import FanIn
from tests.support.tables import Band, Fan

BAND = "The Writers"


def email(writer: int, number: int) -> str:
    return f"writer-{writer}-{number}@example.com"


async def prepare() -> None:
    await tables.create()
    await Band.insert(Band(name=BAND))


async def write(writer: int, number: int, band: int) -> None:
    name = f"Writer {writer} #{number}"
    if number % 2:
        await queries.join(FanIn(name=name, email=email(writer, number), band_id=band))
        return
    engine = engine_finder()
    assert engine is not None
    async with engine.transaction():
        await Fan.count().where(Fan.email.like(f"writer-{writer}-%"))
        await Fan.insert(
            Fan(
                name=name,
                email=email(writer, number),
                band=band,
                joined_at=datetime.datetime.now(datetime.UTC),
            )
        )
        await Band.update({Band.popularity: Band.popularity + 1}).where(Band.id == band)


async def run(writer: int, writes: int, tasks: int) -> dict[str, object]:
    engine = engine_finder()
    assert isinstance(engine, TunedSQLiteEngine), engine
    errors: list[str] = []
    done = 0

    async def task(first: int, band: int) -> None:
        nonlocal done
        for number in range(first, writes, tasks):
            try:
                await write(writer, number, band)
                done += 1
            except Exception as error:  # noqa: BLE001 - every failure is the result
                errors.append(f"{type(error).__name__}: {error}")

    started = time.monotonic()
    try:
        band = await Band.select(Band.id).where(Band.name == BAND).first()
        assert band is not None, "run --prepare first"
        await asyncio.gather(*(task(first, band["id"]) for first in range(tasks)))
    finally:
        engine.close_query_threads()
    return {"writer": writer, "done": done, "errors": errors, "seconds": time.monotonic() - started}


async def prepared() -> None:
    engine = engine_finder()
    assert isinstance(engine, TunedSQLiteEngine), engine
    try:
        await prepare()
    finally:
        engine.close_query_threads()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--writer", type=int, default=0)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--start-at", type=float, default=0.0)
    arguments = parser.parse_args()
    if arguments.prepare:
        asyncio.run(prepared())
        return
    time.sleep(max(0.0, arguments.start_at - time.time()))
    result = asyncio.run(run(arguments.writer, arguments.writes, arguments.tasks))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
