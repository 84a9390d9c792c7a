"""What the sample site takes in and gives out: one Struct per direction, shared by its forms
and its JSON API, as a site's features have them."""

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

AlbumSort = Literal["title", "-title", "price", "-price", "newest"]
# Python's \s spelled out: the schema's patterns are read by clients as JSON Schema (ECMA-262)
# regexes, whose \s differs.
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A title or a name: something besides spaces.
NonBlank = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=f"[^{SPACE}]")]
Description = Annotated[str, msgspec.Meta(max_length=5000)]
BandId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
# One @, something on each side, no spaces: loose on purpose.
Email = Annotated[
    str, msgspec.Meta(max_length=254, pattern=f"^[^@{SPACE}]+@[^@{SPACE}]+\\.[^@{SPACE}]+$")
]
Notes = Annotated[str, msgspec.Meta(max_length=2000)]
# For the OpenAPI schema (msgspec can't constrain a Decimal): what `price_problem` accepts.
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
    if not price.is_finite() or not 0 <= price <= MAX_PRICE:
        return f"Enter a price from 0 to {MAX_PRICE:,}."
    if price.as_tuple().exponent < -2:  # type: ignore[operator]
        return "Use at most two decimal places."
    return None


class AlbumIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new album, or all of an album's fields for an update (staff)."""

    checks: ClassVar[dict[str, Check]] = {"price": price_problem}

    title: NonBlank
    price: Price
    band_id: BandId
    description: Description = ""

    def __post_init__(self) -> None:
        run_checks(self)
        self.title = self.title.strip()


class BandOut(msgspec.Struct, frozen=True):
    id: int
    name: str


class AlbumOut(msgspec.Struct, frozen=True):
    id: int
    title: str
    description: str
    price: Decimal
    band: BandOut
    created_at: datetime.datetime


class AlbumPage(msgspec.Struct, frozen=True):
    items: list[AlbumOut]
    page: int
    page_size: int
    total: int
    pages: int


class FanIn(msgspec.Struct, forbid_unknown_fields=True):
    """Joining a band's fan list (anyone)."""

    name: NonBlank
    email: Email
    band_id: BandId
    notes: Notes = ""

    def __post_init__(self) -> None:
        self.email = self.email.lower()


class FanOut(msgspec.Struct, frozen=True):
    id: int
    name: str
    email: str
    band: BandOut
    notes: str
    has_photo: bool
    joined_at: datetime.datetime


class FanPage(msgspec.Struct, frozen=True):
    items: list[FanOut]
    page: int
    page_size: int
    total: int
    pages: int
