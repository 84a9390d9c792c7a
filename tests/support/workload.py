"""A mixed database workload through the framework's own engine, run in its own process.

    DATABASE_URL=... python -m tests.support.workload --tasks 50 --rounds 6

It makes the test tables (tests/support/tables.py) on that database if they are missing. Each
task runs every kind of operation a site does — joined reads, inserts, updates,
multi-statement transactions, `.batch()` — and the script prints one JSON line: how many
operations succeeded, the errors, and whether the rows written add up.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from bandstand.database.engine import engine_for
from bandstand.database.sqlite import TunedSQLiteEngine
from bandstand.settings import get_settings
from tests.support import tables
from tests.support.tables import Band, Manager


async def run(tasks: int, rounds: int) -> dict[str, object]:
    engine = engine_for(get_settings())
    pooled = isinstance(engine, PostgresEngine)
    if pooled:
        await engine.start_connection_pool()
    try:
        return await _workload(engine, tasks, rounds)
    finally:
        if pooled:
            await engine.close_connection_pool()
        elif isinstance(engine, TunedSQLiteEngine):
            engine.close_query_threads()


async def _workload(engine: Engine[Any], tasks: int, rounds: int) -> dict[str, object]:
    # A run's own rows, told apart from an earlier run's on the same database (band names are
    # unique).
    run_id = uuid.uuid4().hex[:8]
    numbers = itertools.count()
    inserted = 0
    errors: list[str] = []
    done = 0
    try:
        await tables.create(engine)
        manager = (await Manager.insert(Manager(name=f"load {run_id}")))[0]["id"]
    except Exception as error:  # noqa: BLE001 - with a statement cache behind a pooler, even this
        return {"operations": 0, "errors": [_failure(error)], "inserted": 0, "stored": None}

    def new_band(kind: str) -> Band:
        return Band(name=f"{run_id} {kind} {next(numbers)}", manager=manager)

    async def task() -> None:
        nonlocal done, inserted
        try:
            own = (await Band.insert(new_band("task")))[0]["id"]
        except Exception as error:  # noqa: BLE001 - every failure is the result
            errors.append(_failure(error))
            return
        inserted += 1

        async def read() -> None:
            await Band.select(Band.name, Band.manager.name).where(Band.manager == manager).limit(20)

        async def write() -> None:
            nonlocal inserted
            await Band.insert(new_band("extra"))
            inserted += 1

        async def update() -> None:
            await Band.update({Band.popularity: Band.popularity + 1}).where(Band.id == own)

        async def transaction() -> None:
            nonlocal inserted
            async with engine.transaction():
                await Band.select(Band.popularity).where(Band.id == own).first()
                await Band.update({Band.popularity: Band.popularity + 1}).where(Band.id == own)
                await Band.insert(new_band("tx"))
            inserted += 1

        async def batch() -> None:
            query = Band.select(Band.id).where(Band.manager == manager)
            async with await query.batch(batch_size=7) as batches:
                async for rows in batches:
                    assert rows

        operations: list[Callable[[], Awaitable[None]]] = [read, write, update, transaction, batch]
        for _ in range(rounds):
            for operation in operations:
                try:
                    await operation()
                    done += 1
                except Exception as error:  # noqa: BLE001 - every failure is the result
                    errors.append(_failure(error))

    await asyncio.gather(*(task() for _ in range(tasks)))
    try:
        stored: int | None = await Band.count().where(Band.manager == manager)
    except Exception as error:  # noqa: BLE001
        stored = None
        errors.append(_failure(error))
    return {"operations": done, "errors": errors, "inserted": inserted, "stored": stored}


def _failure(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    arguments = parser.parse_args()
    result = asyncio.run(run(arguments.tasks, arguments.rounds))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
