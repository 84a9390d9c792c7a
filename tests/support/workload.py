"""A mixed database workload through the app's own engine, run in its own process.

    DATABASE_URL=... python -m tests.support.workload --tasks 50 --rounds 6

Each task runs every kind of operation the app does — joined reads, inserts, updates,
multi-statement transactions, `.batch()` — and the script prints one JSON line: how many
operations succeeded, the errors, and whether the rows written add up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal

from piccolo.engine.finder import engine_finder

from project.catalog.tables import Category, Product


async def run(tasks: int, rounds: int) -> dict[str, object]:
    engine = engine_finder()
    assert engine is not None
    await engine.start_connection_pool()
    inserted: Counter[str] = Counter()
    errors: list[str] = []
    done = 0
    try:
        category = (
            await Category.insert(Category(name=f"load {id(engine)}", slug=f"load-{id(engine)}"))
        )[0]["id"]
    except Exception as error:  # noqa: BLE001 - with a statement cache behind a pooler, even this
        await engine.close_connection_pool()
        return {"operations": 0, "errors": [_failure(error)], "inserted": 0, "stored": None}

    async def task(number: int) -> None:
        nonlocal done
        try:
            own = (
                await Product.insert(
                    Product(
                        name=f"task {number}", description="", price=Decimal(1), category=category
                    )
                )
            )[0]["id"]
        except Exception as error:  # noqa: BLE001 - every failure is the result
            errors.append(_failure(error))
            return
        inserted["product"] += 1

        async def read() -> None:
            await (
                Product.select(Product.name, Product.category.name)
                .where(Product.category == category)
                .limit(20)
            )

        async def write() -> None:
            await Product.insert(
                Product(name=f"extra {number}", description="", price=Decimal(2), category=category)
            )
            inserted["product"] += 1

        async def update() -> None:
            await Product.update({Product.stock: Product.stock + 1}).where(Product.id == own)

        async def transaction() -> None:
            async with engine.transaction():
                await Product.select(Product.stock).where(Product.id == own).first()
                await Product.update({Product.stock: Product.stock + 1}).where(Product.id == own)
                await Product.insert(
                    Product(
                        name=f"tx {number}", description="", price=Decimal(3), category=category
                    )
                )
            inserted["product"] += 1

        async def batch() -> None:
            query = Product.select(Product.id).where(Product.category == category)
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

    await asyncio.gather(*(task(number) for number in range(tasks)))
    try:
        stored: int | None = await Product.count().where(Product.category == category)
    except Exception as error:  # noqa: BLE001
        stored = None
        errors.append(_failure(error))
    await engine.close_connection_pool()
    return {
        "operations": done,
        "errors": errors,
        "inserted": inserted["product"],
        "stored": stored,
    }


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
