"""One of several processes writing to one SQLite file through the app's own engine.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m tests.stress.writers \
        --writer 3 --writes 500 --tasks 4 --start-at 1764130000.0

Waits until `--start-at` (wall-clock seconds) so that every writer starts at once, then makes
`--writes` writes from `--tasks` concurrent tasks, alternating the app's two ways of writing: a
registration as the API makes it (one statement, on the engine's kept connections), and a
transaction that reads and then writes (the shape that fails at once with "database is locked"
in SQLite's default deferred mode). Prints one JSON line: the writes done and every error.
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
from project.webinars import queries
from project.webinars.schemas import RegistrationIn
from project.webinars.tables import Registrant


def email(writer: int, number: int) -> str:
    return f"writer-{writer}-{number}@example.com"


async def write(writer: int, number: int) -> None:
    date = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)
    name = f"Writer {writer} #{number}"
    if number % 2:
        await queries.register(
            RegistrationIn(name=name, email=email(writer, number), webinar_date=date)
        )
        return
    engine = engine_finder()
    assert engine is not None
    async with engine.transaction():
        await Registrant.count().where(Registrant.email.like(f"writer-{writer}-%"))
        await Registrant.insert(
            Registrant(
                name=name,
                email=email(writer, number),
                webinar_date=date,
                registered_at=datetime.datetime.now(datetime.UTC),
            )
        )


async def run(writer: int, writes: int, tasks: int) -> dict[str, object]:
    engine = engine_finder()
    assert isinstance(engine, TunedSQLiteEngine), engine
    errors: list[str] = []
    done = 0

    async def task(first: int) -> None:
        nonlocal done
        for number in range(first, writes, tasks):
            try:
                await write(writer, number)
                done += 1
            except Exception as error:  # noqa: BLE001 - every failure is the result
                errors.append(f"{type(error).__name__}: {error}")

    started = time.monotonic()
    try:
        await asyncio.gather(*(task(first) for first in range(tasks)))
    finally:
        engine.close_query_threads()
    return {"writer": writer, "done": done, "errors": errors, "seconds": time.monotonic() - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writer", type=int, required=True)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--start-at", type=float, default=0.0)
    arguments = parser.parse_args()
    time.sleep(max(0.0, arguments.start_at - time.time()))
    result = asyncio.run(run(arguments.writer, arguments.writes, arguments.tasks))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
