"""The shapes products take in and out: one Struct per direction, shared by forms and API."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

import msgspec

from project.forms import Check, run_checks

MAX_PRICE = Decimal("99999999.99")  # Numeric(10, 2)
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Sort = Literal["name", "-name", "price", "-price", "newest"]
# A name must have something besides spaces.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
Description = Annotated[str, msgspec.Meta(max_length=5000)]
Stock = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
CategoryId = Annotated[int, msgspec.Meta(ge=1)]


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
    price: Decimal
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
