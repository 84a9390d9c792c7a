"""Finding products: the search, filter, sort and paging that the page and the API share."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar, cast

from piccolo.columns import Column
from piccolo.query.methods import Count, Select
from piccolo.query.mixins import OrderByRaw
from piccolo.querystring import QueryString

from bandstand.database.compiled import CompiledQuery, Slot
from bandstand.database.search import like_pattern, matches_pattern
from bandstand.forms import FieldError, refuse_nul
from bandstand.pagination import Page
from project.catalog.schemas import CategoryOut, ProductIn, ProductOut, Sort
from project.catalog.tables import Category, Product

CENTS = Decimal("0.01")
# By name regardless of case, the same on both engines (SQLite's default collation is binary).
BY_NAME = OrderByRaw("LOWER(product.name)")
ORDER: dict[Sort, tuple[Column | OrderByRaw, bool]] = {
    "name": (BY_NAME, True),
    "-name": (BY_NAME, False),
    "price": (Product.price, True),
    "-price": (Product.price, False),
    "newest": (Product.created_at, False),
}
FilteredQuery = TypeVar("FilteredQuery", "Select[Product]", Count)
COLUMNS = (
    Product.id,
    Product.name,
    Product.description,
    Product.price,
    Product.stock,
    Product.created_at,
    Product.category.id.as_alias("category_id"),
    Product.category.slug.as_alias("category_slug"),
    Product.category.name.as_alias("category_name"),
)


def _products(sort: Sort, search: bool, category: bool) -> Select[Product]:
    column, ascending = ORDER[sort]
    # Every row carries the count of all matches, so a page takes one query, not two. A scalar
    # subquery, run once per query: SQLite's `COUNT(*) OVER ()` costs more (docs/performance.md).
    (count,) = _count(search, category).querystrings
    total = QueryString("({})", count, alias="total")
    return _filtered(
        Product.select(*COLUMNS, total)
        .order_by(column, ascending=ascending)
        .order_by(Product.id),  # a stable order across pages
        search,
        category,
    )


def _count(search: bool, category: bool) -> Count:
    return _filtered(Product.count(), search, category)


def _filtered(query: FilteredQuery, search: bool, category: bool) -> FilteredQuery:
    if search:
        query = query.where(matches_pattern(Slot("pattern"), Product.name, Product.description))
    if category:
        # By the category's id, looked up once per query: the databases then read a page of a
        # category in order off its index (see the migration that creates it), where a join
        # on the slug would sort all of the category's rows.
        (lookup,) = (
            Category.select(Category.id).where(Category.slug == Slot("category")).querystrings
        )
        query = query.where(Product.category == QueryString("({})", lookup))
    return query


PRODUCTS = CompiledQuery(_products, paged=True)
COUNT = CompiledQuery(_count)
PRODUCT = CompiledQuery(lambda: Product.select(*COLUMNS).where(Product.id == Slot("id")))
CATEGORIES = CompiledQuery(
    lambda: Category.select(Category.id, Category.slug, Category.name).order_by(Category.name)
)


def _product(row: Mapping[str, Any]) -> ProductOut:
    return ProductOut(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        # SQLite hands back 2499 where PostgreSQL says 2499.00.
        price=Decimal(row["price"]).quantize(CENTS),
        stock=row["stock"],
        category=CategoryOut(
            id=row["category_id"], slug=row["category_slug"], name=row["category_name"]
        ),
        created_at=row["created_at"],
    )


async def find_products(
    search: str = "", category: str = "", sort: Sort = "name", page: int = 1, size: int = 12
) -> tuple[list[ProductOut], Page]:
    search = search.strip()
    if "\0" in search or "\0" in category:
        # No stored text holds NUL (PostgreSQL refuses it, and so would the query).
        return [], Page.of(page, size, 0)
    shape = (bool(search), bool(category))
    values = {"pattern": like_pattern(search), "category": category}
    number = max(page, 1)
    rows = await PRODUCTS.rows(sort, *shape, **values, limit=size, offset=(number - 1) * size)
    if rows:  # the common case: one query, its rows carrying the total
        found = Page(number=number, size=size, total=rows[0]["total"])
    else:  # past the end (show the last page instead), or nothing matches
        (counted,) = await COUNT.rows(*shape, **values)
        found = Page.of(page, size, counted["count"])
        if found.total:
            rows = await PRODUCTS.rows(sort, *shape, **values, limit=size, offset=found.offset)
    return [_product(row) for row in rows], found


async def get_product(product_id: int) -> ProductOut | None:
    rows = await PRODUCT.rows(id=product_id)
    return _product(rows[0]) if rows else None


async def categories() -> list[CategoryOut]:
    return [CategoryOut(**row) for row in await CATEGORIES.rows()]


async def save_product(data: ProductIn, product_id: int | None = None) -> ProductOut:
    """Insert (or update, given `product_id`) and return the stored product. Raises
    `FieldError` for a category that doesn't exist and `LookupError` for a missing product."""
    refuse_nul(data)
    if not await Category.exists().where(Category.id == data.category_id):
        raise FieldError("category_id", "Choose one of the categories.")
    values: dict[Column, Any] = {
        Product.name: data.name,
        Product.description: data.description,
        Product.price: data.price,
        Product.stock: data.stock,
        Product.category: data.category_id,
    }
    if product_id is None:
        rows = await Product.insert(Product(_data=values))
        product_id = rows[0]["id"]
    elif (
        not await Product.update(cast("dict[Column | str, Any]", values))
        .where(Product.id == product_id)
        .returning(Product.id)
    ):
        raise LookupError(product_id)
    product = await get_product(product_id)
    assert product is not None
    return product


async def delete_product(product_id: int) -> bool:
    """Whether there was such a product to delete."""
    return bool(await Product.delete().where(Product.id == product_id).returning(Product.id))
