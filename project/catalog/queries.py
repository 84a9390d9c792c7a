"""Finding products: the search, filter, sort and paging that the page and the API share."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from piccolo.columns import Column
from piccolo.columns.combination import Where, WhereRaw
from piccolo.query.mixins import OrderByRaw

from project.catalog.schemas import CategoryOut, ProductIn, ProductOut, Sort
from project.catalog.tables import Category, Product
from project.database.search import contains_text
from project.forms import FieldError
from project.pagination import Page

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


def _filters(search: str, category: str) -> list[Where | WhereRaw]:
    filters: list[Where | WhereRaw] = []
    if search:
        filters.append(contains_text(search, Product.name, Product.description))
    if category:
        filters.append(Product.category.slug == category)
    return filters


def _product(row: dict[str, Any]) -> ProductOut:
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
    filters = _filters(search.strip(), category)
    count = Product.count()
    for where in filters:
        count = count.where(where)
    found = Page.of(page, size, await count)
    column, ascending = ORDER[sort]
    query = (
        Product.select(*COLUMNS)
        .order_by(column, ascending=ascending)
        .order_by(Product.id)  # a stable order across pages
        .limit(found.size)
        .offset(found.offset)
    )
    for where in filters:
        query = query.where(where)
    return [_product(row) for row in await query], found


async def get_product(product_id: int) -> ProductOut | None:
    row = await Product.select(*COLUMNS).where(Product.id == product_id).first()
    return None if row is None else _product(row)


async def categories() -> list[CategoryOut]:
    rows = await Category.select(Category.id, Category.slug, Category.name).order_by(Category.name)
    return [CategoryOut(**row) for row in rows]


async def save_product(data: ProductIn, product_id: int | None = None) -> ProductOut:
    """Insert (or update, given `product_id`) and return the stored product. Raises
    `FieldError` for a category that doesn't exist and `LookupError` for a missing product."""
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
