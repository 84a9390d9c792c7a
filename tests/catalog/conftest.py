import re
from decimal import Decimal

import pytest

from bandstand.testing.database import one_connection
from project.catalog.tables import Category, Product

ROW_NAME = re.compile(r'<td><a href="/products/\d+">([^<]+)</a></td>')


def names(html: str) -> list[str]:
    """The products listed on a /products page, in order."""
    return ROW_NAME.findall(html)


class Catalog:
    """Known rows: two categories and products whose order by name, price and age differ."""

    def __init__(self, categories: dict[str, int], products: dict[str, int]) -> None:
        self.categories = categories
        self.products = products


@pytest.fixture
async def catalog(clean_tables: None) -> Catalog:
    async with one_connection():
        categories = {}
        for slug, name in (("tools", "Tools"), ("books", "Books"), ("empty", "Empty")):
            categories[slug] = (await Category.insert(Category(slug=slug, name=name)))[0]["id"]
        products = {}
        rows = [
            ("Hammer", "A claw hammer", "25.00", "tools", 3),
            ("Screwdriver set", "Six sizes", "12.50", "tools", 10),
            ("Saw", "Cuts 100% of wood_types", "40.00", "tools", 0),
            ("Python cookbook", "Recipes for hammering out code", "39.99", "books", 5),
            ("SQL primer", "Joins, explained", "9.99", "books", 1),
        ]
        for name, description, price, slug, stock in rows:
            inserted = await Product.insert(
                Product(
                    name=name,
                    description=description,
                    price=Decimal(price),
                    category=categories[slug],
                    stock=stock,
                )
            )
            products[name] = inserted[0]["id"]
    return Catalog(categories, products)
