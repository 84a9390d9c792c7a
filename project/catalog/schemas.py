"""The shapes products take in and out: one Struct per direction, shared by forms and API."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

import msgspec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import KwargDefinition

from bandstand.forms import Check, run_checks
from bandstand.ids import MAX_ID

MAX_PRICE = Decimal("99999999.99")  # Numeric(10, 2)
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Sort = Literal["name", "-name", "price", "-price", "newest"]
# Python's \s spelled out: the schema's patterns are read by clients as JSON Schema (ECMA-262)
# regexes, whose \s differs (it lacks \x1c-\x1f and \x85, and has \ufeff).
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A name must have something besides spaces.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=f"[^{SPACE}]")]
Description = Annotated[str, msgspec.Meta(max_length=5000)]
Stock = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
CategoryId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
# For the OpenAPI schema only (msgspec ignores it, and can't constrain a Decimal): what
# `price_problem` accepts. A JSON number is accepted as well as a string.
Price = Annotated[
    Decimal,
    KwargDefinition(
        description='From 0 to 99999999.99, at most two decimal places: "12.50".',
        schema_extra={
            "type": None,
            "anyOf": [
                Schema(type=OpenAPIType.STRING, pattern=r"^[0-9]{1,8}(\.[0-9]{1,2})?$"),
                Schema(
                    type=OpenAPIType.NUMBER,
                    minimum=0,
                    maximum=float(MAX_PRICE),
                    multiple_of=0.01,
                ),
            ],
        },
    ),
]


def price_problem(price: Decimal) -> str | None:
    # msgspec has no range constraints for Decimal, and money must stay Decimal.
    if not price.is_finite() or not 0 <= price <= MAX_PRICE:
        return f"Enter a price from 0 to {MAX_PRICE:,}."
    if price.as_tuple().exponent < -2:  # type: ignore[operator]
        return "Use at most two decimal places."
    return None


class ProductIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new product, or all of a product's fields for an update."""

    checks: ClassVar[dict[str, Check]] = {"price": price_problem}

    name: Name
    price: Price
    category_id: CategoryId
    description: Description = ""
    stock: Stock = 0

    def __post_init__(self) -> None:
        run_checks(self)
        self.name = self.name.strip()


class CategoryOut(msgspec.Struct, frozen=True):
    id: int
    slug: str
    name: str


class ProductOut(msgspec.Struct, frozen=True):
    id: int
    name: str
    description: str
    price: Decimal
    stock: int
    category: CategoryOut
    created_at: datetime.datetime


class ProductPage(msgspec.Struct, frozen=True):
    items: list[ProductOut]
    page: int
    page_size: int
    total: int
    pages: int
