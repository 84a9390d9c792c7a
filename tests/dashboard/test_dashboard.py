"""The staff dashboard: exact counts from known rows, UTC days, who may see it, and a page that
says everything without JavaScript and loads its scripts from /static/ only."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

from bandstand.testing.accounts import People, log_in
from project.catalog.tables import Category, Product
from project.dashboard.queries import PRICE_BANDS, registrations_per_day, utc_today
from project.dashboard.schemas import Point
from project.webinars.tables import Registrant

HTML = {"accept": "text/html"}
JSON = {"accept": "application/json"}
UTC = datetime.UTC
EAST = datetime.timezone(datetime.timedelta(hours=2))
WEST = datetime.timezone(datetime.timedelta(hours=-5))

# Lower case sorts after upper case by code point, first by name for people: "accessories"
# first shows that the order doesn't depend on the engine's collation.
PRODUCTS = {
    "accessories": [],
    "Books": ["0.00", "9.99", "10.00", "49.99"],
    "GPUs": ["50.00", "999.99", "1000.00", "4999.99", "5000.00"],
}
EXPECTED_CATEGORIES = [
    {"label": "accessories", "count": 0},
    {"label": "Books", "count": 4},
    {"label": "GPUs", "count": 5},
]
EXPECTED_BANDS = [
    {"label": "Under 10", "count": 2},
    {"label": "10 to 49.99", "count": 2},
    {"label": "50 to 99.99", "count": 1},
    {"label": "100 to 499.99", "count": 0},
    {"label": "500 to 999.99", "count": 1},
    {"label": "1,000 to 4,999.99", "count": 2},
    {"label": "5,000 and over", "count": 1},
]


async def add_products() -> None:
    for name, prices in PRODUCTS.items():
        category = (await Category.insert(Category(name=name, slug=name.lower())))[0]["id"]
        for number, price in enumerate(prices):
            await Product.insert(
                Product(
                    name=f"{name} {number}",
                    description="",
                    price=Decimal(price),
                    category=category,
                )
            )


async def register(*moments: datetime.datetime) -> None:
    await Registrant.insert(
        *(
            Registrant(
                name=f"Person {number}",
                email=f"person{number}@example.com",
                webinar_date=datetime.date(2026, 3, 1),
                registered_at=moment,
            )
            for number, moment in enumerate(moments)
        )
    )


def at(day: datetime.date, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=UTC)


async def clear_of_midnight() -> None:
    """The API counts up to today (UTC): don't let the date change between set-up and request."""
    now = datetime.datetime.now(UTC)
    left = (at(now.date() + datetime.timedelta(days=1)) - now).total_seconds()
    if left < 5:
        await anyio.sleep(left + 0.1)


@pytest.fixture
async def dashboard_rows(people: People) -> datetime.date:
    """Known products and registrants; returns the UTC day the registrations are relative to."""
    await clear_of_midnight()
    today = utc_today()
    days_ago = lambda days: today - datetime.timedelta(days=days)  # noqa: E731
    await add_products()
    await register(
        at(days_ago(40), 9),  # long gone
        at(days_ago(30), 23, 59),  # the 31st day back: out of the window
        at(days_ago(29)),  # the window's first moment
        at(days_ago(3), 8),  # two on one day
        at(days_ago(3), 20),
        at(today),
    )
    return today


def expected_days(today: datetime.date) -> list[dict[str, Any]]:
    counts = {
        today - datetime.timedelta(days=29): 1,
        today - datetime.timedelta(days=3): 2,
        today: 1,
    }
    days = [today - datetime.timedelta(days=back) for back in range(29, -1, -1)]
    return [{"label": day.isoformat(), "count": counts.get(day, 0)} for day in days]


async def test_api_counts_exactly(client: httpx.AsyncClient, dashboard_rows: datetime.date) -> None:
    await log_in(client, "staff")

    response = await client.get("/api/dashboard", headers=JSON)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "products_per_category": EXPECTED_CATEGORIES,
        "price_distribution": EXPECTED_BANDS,
        "registrations_per_day": expected_days(dashboard_rows),
        "ai_spend": {
            "since": f"{dashboard_rows.replace(day=1).isoformat()}T00:00:00Z",
            "by_user": [],
            "by_model": [],
        },
    }


async def test_api_with_nothing_to_count(client: httpx.AsyncClient, people: People) -> None:
    await clear_of_midnight()
    await log_in(client, "staff")

    data = (await client.get("/api/dashboard", headers=JSON)).json()

    assert data["products_per_category"] == []
    assert data["price_distribution"] == [{"label": label, "count": 0} for label, _ in PRICE_BANDS]
    assert len(data["registrations_per_day"]) == 30
    assert data["registrations_per_day"][-1] == {"label": utc_today().isoformat(), "count": 0}
    assert {day["count"] for day in data["registrations_per_day"]} == {0}


async def test_days_are_utc_days_whatever_the_session_time_zone(
    clean_tables: None, database_kind: str
) -> None:
    await register(
        datetime.datetime(2026, 1, 1, 23, 59, 59, 999999, tzinfo=UTC),  # before the window
        datetime.datetime(2026, 1, 2, tzinfo=UTC),  # its first moment
        # Recorded with offsets; counted on their UTC day.
        datetime.datetime(2026, 1, 11, 1, 30, tzinfo=EAST),
        datetime.datetime(2026, 1, 10, 20, tzinfo=WEST),
        datetime.datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),  # its last moment
        datetime.datetime(2026, 2, 1, tzinfo=UTC),  # after it
    )

    async with Registrant._meta.db.transaction():
        if database_kind == "postgres":
            # UTC+14: a date taken in the session's time zone would move most of the rows.
            await Registrant.raw("SET LOCAL TIME ZONE 'Pacific/Kiritimati'")
        series = await registrations_per_day(datetime.date(2026, 1, 31))

    assert len(series) == 30
    assert series[0].label == "2026-01-02"
    assert series[-1].label == "2026-01-31"
    assert [point for point in series if point.count] == [
        Point(label="2026-01-02", count=1),
        Point(label="2026-01-10", count=1),
        Point(label="2026-01-11", count=1),
        Point(label="2026-01-31", count=1),
    ]


async def test_anonymous_visitors_are_sent_to_log_in(
    client: httpx.AsyncClient, people: People
) -> None:
    api = await client.get("/api/dashboard", headers=JSON)
    assert api.status_code == 401
    assert api.json()["detail"] == "Log in to see this page."

    page = await client.get("/dashboard", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fdashboard"


@pytest.mark.parametrize("who", ["plain", "member"])
async def test_non_staff_are_refused(client: httpx.AsyncClient, people: People, who: str) -> None:
    await log_in(client, who)

    api = await client.get("/api/dashboard", headers=JSON)
    assert api.status_code == 403
    assert api.json()["detail"] == "Staff only."
    page = await client.get("/dashboard", headers=HTML)
    assert page.status_code == 403
    assert "Staff only." in page.text


def row(label: str, count: int) -> str:
    return f'<tr><th scope="row">{label}</th><td class="num">{count}</td></tr>'


async def test_page_shows_the_figures_without_javascript(
    client: httpx.AsyncClient, dashboard_rows: datetime.date
) -> None:
    await log_in(client, "boss")

    response = await client.get("/dashboard", headers=HTML)

    assert response.status_code == 200
    page = response.text
    for expected in (*EXPECTED_CATEGORIES, *EXPECTED_BANDS, *expected_days(dashboard_rows)):
        assert row(expected["label"], expected["count"]) in page
    assert "3 categories, 9 products." in page
    assert "4 registrations from" in page
    for series in ("products_per_category", "price_distribution", "registrations_per_day"):
        assert f'data-series="{series}"' in page
    assert page.count("<canvas") == 3


async def test_page_scripts_are_local_files_only(
    client: httpx.AsyncClient, dashboard_rows: datetime.date
) -> None:
    """Chart.js from /static/, never a CDN; nothing a strict Content-Security-Policy would block."""
    await log_in(client, "staff")
    page = (await client.get("/dashboard", headers=HTML)).text

    scripts = re.findall(r"<script\b[^>]*>", page)
    assert '<script defer src="/static/vendor/chart.umd.min.js">' in scripts
    assert '<script defer src="/static/js/dashboard.js">' in scripts
    assert all(re.search(r'\bsrc="/static/', script) for script in scripts), scripts
    assert not re.search(r"<[^>]+\s(on\w+|style)=", page)
    for path in ("/static/vendor/chart.umd.min.js", "/static/js/dashboard.js"):
        assert (await client.get(path)).status_code == 200


async def test_openapi_documents_the_api_not_the_page(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()

    operation = schema["paths"]["/api/dashboard"]["get"]
    assert operation["tags"] == ["dashboard"]
    success = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert success == {"$ref": "#/components/schemas/Dashboard"}
    assert set(schema["components"]["schemas"]["Dashboard"]["properties"]) == {
        "products_per_category",
        "price_distribution",
        "registrations_per_day",
        "ai_spend",
    }
    assert "/dashboard" not in schema["paths"]
