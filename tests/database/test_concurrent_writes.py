"""Concurrent writes through the app's own engine, on whichever database the pass runs."""

import asyncio
import sqlite3
from decimal import Decimal

import asyncpg
import pytest
from piccolo.engine.finder import engine_finder

from project.catalog.tables import Category, Product

WRITERS = 100


async def test_concurrent_read_then_write_transactions_never_lock(clean_tables: None) -> None:
    engine = engine_finder()
    assert engine is not None
    category = (await Category.insert(Category(name="Counters", slug="counters")))[0]["id"]
    counter = (
        await Product.insert(
            Product(name="counter", description="", price=Decimal(0), category=category)
        )
    )[0]["id"]

    async def increment(n: int) -> None:
        async with engine.transaction():
            # Read first, then write: the case where a deferred SQLite transaction fails at once.
            await Product.select(Product.stock).where(Product.id == counter).first()
            await Product.update({Product.stock: Product.stock + 1}).where(Product.id == counter)
            await Product.insert(
                Product(name=f"row {n}", description="", price=Decimal(n), category=category)
            )

    results = await asyncio.gather(*(increment(n) for n in range(WRITERS)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    row = await Product.select(Product.stock).where(Product.id == counter).first()
    assert row is not None
    assert row["stock"] == WRITERS
    assert await Product.count() == WRITERS + 1


async def test_concurrent_single_statement_writes_never_lock(clean_tables: None) -> None:
    category = (await Category.insert(Category(name="Plain", slug="plain")))[0]["id"]

    async def insert(n: int) -> None:
        await Product.insert(
            Product(name=f"p{n}", description="", price=Decimal(1), category=category)
        )

    results = await asyncio.gather(*(insert(n) for n in range(WRITERS)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await Product.count() == WRITERS


async def test_a_failed_transaction_leaves_the_database_as_it_was(clean_tables: None) -> None:
    engine = engine_finder()
    assert engine is not None

    async def insert_twice() -> None:
        async with engine.transaction():
            await Category.insert(Category(name="Ghost", slug="ghost"))
            await Category.insert(Category(name="Ghost", slug="ghost"))  # unique: fails

    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await insert_twice()
    assert await Category.count() == 0
