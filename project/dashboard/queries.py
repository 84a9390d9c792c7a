"""The dashboard's counts: four queries, each returning a handful of rows.

Every query runs the same on SQLite and PostgreSQL. Where the engines differ — PostgreSQL
sorts text by its collation, SQLite keeps `Timestamptz` as text — the difference is handled
here rather than left to show up as different numbers on the two.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.columns import Date, Timestamptz
from piccolo.query.functions import AtTimeZone, Case, Cast, Count, Strftime, When
from piccolo.querystring import QueryString

from bandstand.ai.spend import ai_spend
from project.catalog.tables import Category, Product
from project.dashboard.schemas import Dashboard, Point
from project.webinars.tables import Registrant

# Resolved at import: ZoneInfo reads the zone file from disk the first time.
UTC = ZoneInfo("UTC")
REGISTRATION_DAYS = 30

# (label, upper bound, exclusive): each band starts where the one before ends. Prices are
# Numeric(10, 2), so 49.99 is the exact top of the band below 50.
PRICE_BANDS: tuple[tuple[str, Decimal | None], ...] = (
    ("Under 10", Decimal(10)),
    ("10 to 49.99", Decimal(50)),
    ("50 to 99.99", Decimal(100)),
    ("100 to 499.99", Decimal(500)),
    ("500 to 999.99", Decimal(1000)),
    ("1,000 to 4,999.99", Decimal(5000)),
    ("5,000 and over", None),
)


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


async def products_per_category() -> list[Point]:
    """Every category, the empty ones too, by name."""
    # Piccolo joins along a foreign key only, from Product to Category, so the categories and
    # the counts are two queries; both return one row per category.
    categories = await Category.select(Category.id, Category.name)
    counts = await Product.select(Product.category, Count()).group_by(Product.category)
    per_category = {row["category"]: row["count"] for row in counts}
    # Sorted here: PostgreSQL orders text by the database's collation, SQLite by code point.
    categories.sort(key=lambda row: (row["name"].casefold(), row["name"]))
    return [Point(label=row["name"], count=per_category.get(row["id"], 0)) for row in categories]


async def price_distribution() -> list[Point]:
    """How many products fall in each of PRICE_BANDS, empty bands included."""
    # The first matching WHEN wins; price is NOT NULL, so what is left is the top band.
    band = Case(
        *(
            When(Product.price < upper, then=index)
            for index, (_, upper) in enumerate(PRICE_BANDS)
            if upper is not None
        ),
        default=len(PRICE_BANDS) - 1,
        alias="band",
    )
    # Grouped by the alias: the CASE repeated in GROUP BY would carry its own placeholders,
    # and PostgreSQL would not see the two as the same expression.
    rows = await Product.select(band, Count()).group_by(QueryString('"band"'))
    per_band = {row["band"]: row["count"] for row in rows}
    return [
        Point(label=label, count=per_band.get(index, 0))
        for index, (label, _) in enumerate(PRICE_BANDS)
    ]


def _utc_day(column: Timestamptz) -> QueryString:
    """The column's UTC calendar day, whatever the connection's time zone."""
    if column._meta.engine_type == "sqlite":
        # Piccolo writes Timestamptz to SQLite as UTC text ("2026-01-31 23:59:59+00:00"), and
        # strftime reads the offset in any case.
        return Strftime(column, "%Y-%m-%d", alias="day")
    # A timestamptz's date is taken in the session's TimeZone setting, which the server's
    # configuration decides: convert to UTC explicitly.
    return Cast(AtTimeZone(column, UTC), Date(), alias="day")


def _as_date(value: Any) -> datetime.date:
    # A date from asyncpg, ISO text from SQLite.
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


async def registrations_per_day(today: datetime.date, days: int = REGISTRATION_DAYS) -> list[Point]:
    """Registrants per UTC day of `registered_at`, for `days` days up to `today`, oldest first."""
    first = today - datetime.timedelta(days=days - 1)
    start = datetime.datetime.combine(first, datetime.time(), tzinfo=datetime.UTC)
    end = datetime.datetime.combine(
        today + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
    )
    rows = (
        await Registrant.select(_utc_day(Registrant.registered_at), Count())
        .where((Registrant.registered_at >= start) & (Registrant.registered_at < end))
        .group_by(QueryString('"day"'))
    )
    per_day = {_as_date(row["day"]): row["count"] for row in rows}
    return [
        Point(label=day.isoformat(), count=per_day.get(day, 0))
        for day in (first + datetime.timedelta(days=offset) for offset in range(days))
    ]


async def load_dashboard(today: datetime.date) -> Dashboard:
    return Dashboard(
        products_per_category=await products_per_category(),
        price_distribution=await price_distribution(),
        registrations_per_day=await registrations_per_day(today),
        ai_spend=await ai_spend(datetime.datetime(today.year, today.month, 1, tzinfo=datetime.UTC)),
    )
