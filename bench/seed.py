"""The benchmark's data, through the app's own migrations and demo loader, plus a category of
`BENCH_PRODUCTS` products so a filtered page has 20 rows to show.

    DATABASE_URL=... python -m bench.seed
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bandstand.commands.demo import run_demo
from project.catalog.tables import Category, Product
from project.features import FEATURES

BENCH_CATEGORY = "bench"
BENCH_PRODUCTS = 300


async def seed() -> None:
    await run_demo(FEATURES, "load")
    if await Category.exists().where(Category.slug == BENCH_CATEGORY):
        return
    category = (await Category.insert(Category(name="Bench", slug=BENCH_CATEGORY)))[0]["id"]
    await Product.insert(
        *(
            Product(
                name=f"Bench product {number:03}",
                description=f"Product number {number} of the benchmark's catalog.",
                price=Decimal(number) + Decimal("0.99"),
                stock=number % 17,
                category=category,
            )
            for number in range(BENCH_PRODUCTS)
        )
    )


if __name__ == "__main__":
    asyncio.run(seed())
