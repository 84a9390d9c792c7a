"""One engine's side of `bench/engines.py`, in its own process (Piccolo binds tables to one engine).

    DATABASE_URL=... python -m bench.engine_workload --seconds 3 --concurrency 16

Prints one JSON line: primary-key selects and single-row inserts per second through Piccolo.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

from project.catalog.tables import Category, Product

SEED_PRODUCTS = 1000


async def seed() -> tuple[int, list[int]]:
    category = await Category.select(Category.id).where(Category.slug == "bench").first()
    if category is None:
        category = (await Category.insert(Category(name="Bench", slug="bench")))[0]
    ids = [
        row["id"]
        for row in await Product.select(Product.id).where(Product.category == category["id"])
    ]
    if len(ids) < SEED_PRODUCTS:
        rows = [
            Product(name=f"bench {n}", description="", price=Decimal(n), category=category["id"])
            for n in range(SEED_PRODUCTS - len(ids))
        ]
        await Product.insert(*rows)
        ids = [
            row["id"]
            for row in await Product.select(Product.id).where(Product.category == category["id"])
        ]
    return category["id"], ids


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
    engine = engine_finder()
    assert engine is not None
    pooled = isinstance(engine, PostgresEngine)
    if pooled:
        await engine.start_connection_pool()
    category, ids = await seed()
    randomly = random.Random(7)

    async def select_by_pk() -> object:
        return (
            await Product.select(Product.id, Product.name, Product.price)
            .where(Product.id == randomly.choice(ids))
            .first()
        )

    async def insert_one() -> object:
        return await Product.insert(
            Product(name="inserted", description="", price=Decimal(1), category=category)
        )

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
