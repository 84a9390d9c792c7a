"""A page of products in the default order is read off an index, not sorted: the shape of the
page query (project/catalog/queries.py) and the migration's indexes must go on agreeing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import pytest
from piccolo.querystring import QueryString

from bandstand.database.compiled import CompiledSQL
from bandstand.database.sqlite import TunedSQLiteEngine
from project.catalog.queries import PRODUCTS, find_products
from project.catalog.tables import Category, Product

CATEGORIES = 4
PER_CATEGORY = 100


@pytest.fixture
async def shelves(clean_tables: None) -> list[str]:
    """Enough products, and statistics on them, for the planners to choose as in production."""
    slugs = [f"shelf-{number}" for number in range(CATEGORIES)]
    for slug in slugs:
        category = (await Category.insert(Category(slug=slug, name=slug.title())))[0]["id"]
        await Product.insert(
            *(
                Product(
                    name=f"{'Zyx' if number % 2 else 'abc'} {number:03}",
                    description="",
                    price=Decimal(number),
                    category=category,
                )
                for number in range(PER_CATEGORY)
            )
        )
    await Product.raw("ANALYZE")
    return slugs


async def _plan(sql: str, args: list[Any]) -> str:
    engine = Product._meta.db
    if isinstance(engine, TunedSQLiteEngine):
        _, rows = await engine.fetch_stored("EXPLAIN QUERY PLAN " + sql, args)
        return "\n".join(str(row[-1]) for row in rows)
    rows = await engine.run_querystring(CompiledSQL("EXPLAIN " + sql, args, QueryString("")))
    return "\n".join(cast(str, row["QUERY PLAN"]) for row in rows)


@pytest.mark.parametrize(
    ("filtered", "index"),
    [(True, "product_category_name_order"), (False, "product_name_order")],
    ids=["a category", "all products"],
)
async def test_a_page_in_the_default_order_is_read_off_an_index(
    shelves: list[str], filtered: bool, index: str
) -> None:
    sql, args = PRODUCTS.statement(
        "name", False, filtered, pattern="", category=shelves[1], limit=20, offset=40
    )
    plan = await _plan(sql, args)
    assert index in plan, plan
    # PostgreSQL says "Sort Key", SQLite "USE TEMP B-TREE FOR ORDER BY".
    assert "Sort Key" not in plan, plan
    assert "ORDER BY" not in plan, plan


async def test_the_indexed_page_is_the_right_page(shelves: list[str]) -> None:
    products, page = await find_products(category=shelves[2], page=3, size=20)
    names = [product.name for product in products]
    # abc 000, abc 002, ... then Zyx 001, ...: by name ignoring case, on both databases.
    expected = sorted(
        (f"{'Zyx' if number % 2 else 'abc'} {number:03}" for number in range(PER_CATEGORY)),
        key=str.lower,
    )[40:60]
    assert names == expected
    assert {product.category.slug for product in products} == {shelves[2]}
    assert page.total == PER_CATEGORY
