"""The catalog's tool for the chat's model: product search, for anyone who may chat."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bandstand.ai.tools import Tool, ToolUser
from project.catalog.queries import find_products

# What one search gives the model: a handful, as a person would skim.
RESULTS = 5


class SearchProducts(msgspec.Struct, forbid_unknown_fields=True):
    query: str
    category: str = ""


class FoundProduct(msgspec.Struct):
    name: str
    price: Decimal
    stock: int
    category: str
    url: str


class Found(msgspec.Struct):
    total: int
    products: list[FoundProduct]


async def search_products(arguments: SearchProducts, user: ToolUser) -> Found:
    products, page = await find_products(arguments.query, arguments.category, size=RESULTS)
    return Found(
        total=page.total,
        products=[
            FoundProduct(
                name=product.name,
                price=product.price,
                stock=product.stock,
                category=product.category.name,
                url=f"/products/{product.id}",
            )
            for product in products
        ],
    )


SEARCH_PRODUCTS = Tool(
    name="search_products",
    description=(
        "Search the shop's products by words in their name or description, optionally within "
        "a category (its slug). Gives the number found and the first few, with their price, "
        "stock and page."
    ),
    arguments=SearchProducts,
    run=search_products,
)
TOOLS = (SEARCH_PRODUCTS,)
