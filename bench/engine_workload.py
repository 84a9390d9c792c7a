"""One engine's side of `bench/engines.py`, in its own process (Piccolo binds tables to one engine).

    DATABASE_URL=... python -m bench.engine_workload --seconds 3 --concurrency 16

Works on the framework's test tables (tests/support/tables.py), which it makes if they are
missing. Prints one JSON line: primary-key selects and single-row inserts per second through
Piccolo.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from piccolo.engine.postgres import PostgresEngine

from bandstand.database.engine import engine_for
from bandstand.settings import get_settings
from tests.support import tables
from tests.support.tables import Band, Concert, Ticket, Venue

SEED_TICKETS = 1000


async def seed() -> tuple[int, list[int]]:
    """The bench's concert (made on the first run) and its tickets' ids."""
    band = await Band.select(Band.id).where(Band.name == "bench").first()
    if band is None:
        band = (await Band.insert(Band(name="bench")))[0]
        venue = (await Venue.insert(Venue(name="bench")))[0]
        starts = datetime.datetime(2026, 12, 6, 20, tzinfo=datetime.UTC)
        await Concert.insert(
            Concert(
                band=band["id"],
                venue=venue["id"],
                starts=starts,
                duration=datetime.timedelta(hours=2),
            )
        )
    concert = await Concert.select(Concert.id).where(Concert.band == band["id"]).first()
    assert concert is not None
    concert_id = concert["id"]
    ids = [row["id"] for row in await Ticket.select(Ticket.id).where(Ticket.concert == concert_id)]
    if len(ids) < SEED_TICKETS:
        rows = [
            Ticket(concert=concert_id, price=Decimal(n), seat=f"S{n}")
            for n in range(SEED_TICKETS - len(ids))
        ]
        await Ticket.insert(*rows)
        ids = [
            row["id"] for row in await Ticket.select(Ticket.id).where(Ticket.concert == concert_id)
        ]
    return concert_id, ids


async def rate(
    operation: Callable[[], Awaitable[object]], seconds: float, concurrency: int
) -> float:
    """Operations per second, `concurrency` tasks in a loop for `seconds`."""
    deadline = time.perf_counter() + seconds
    counts = [0] * concurrency

    async def worker(index: int) -> None:
        while time.perf_counter() < deadline:
            await operation()
            counts[index] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(index) for index in range(concurrency)))
    return sum(counts) / (time.perf_counter() - started)


async def run(seconds: float, concurrency: int) -> dict[str, float]:
    engine = engine_for(get_settings())
    pooled = isinstance(engine, PostgresEngine)
    if pooled:
        await engine.start_connection_pool()
    await tables.create(engine)
    concert, ids = await seed()
    randomly = random.Random(7)

    async def select_by_pk() -> object:
        return (
            await Ticket.select(Ticket.id, Ticket.seat, Ticket.price)
            .where(Ticket.id == randomly.choice(ids))
            .first()
        )

    async def insert_one() -> object:
        return await Ticket.insert(Ticket(concert=concert, price=Decimal(1), seat="inserted"))

    await rate(select_by_pk, 0.5, concurrency)  # warm-up: pool, caches, introspection
    result = {
        "select_per_s": await rate(select_by_pk, seconds, concurrency),
        "insert_per_s": await rate(insert_one, seconds, concurrency),
    }
    if pooled:
        await engine.close_connection_pool()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args()
    json.dump(asyncio.run(run(arguments.seconds, arguments.concurrency)), sys.stdout)


if __name__ == "__main__":
    main()
