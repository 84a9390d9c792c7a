"""SQL-ish input in every search box and filter: quotes, comments, UNION, stacked statements,
LIKE wildcards, NUL, very long strings. Each is text: the answer is a normal 200 (or the 400
of a value that is not one of the choices), the rows found are exactly those containing that
text, nothing is slow, and every table holds the same rows afterwards."""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from urllib.parse import quote

import httpx
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.tables import LoginThrottle
from bandstand.testing.accounts import People, csrf_token, log_in
from bandstand.testing.database import TEST_DATABASE
from project.catalog import demo
from project.catalog.tables import Category, Product
from project.webinars.tables import Registrant
from tests.stress.figures import Figures
from tests.stress.hostile import HTML, Counter, fingerprint, row_counts
from tests.stress.payloads import SQL

PART = "hostile input: SQL-ish"
# Literal wildcards, quotes and backslashes in stored text, for the searches to find.
ODD_PRODUCTS = [
    "100% cotton tote",
    "snake_case naming guide",
    "Back\\slash escapes",
    "O'Reilly style guide",
    'The "quoted" edition',
    "50%_off voucher",
]
ODD_PEOPLE = ["Dana O'Brien", "Ann %Percent", "Bob_Under", "Cy \\Back", 'Di "Quote"']
SLOW = 2.0  # seconds: a payload that makes the database sleep would show here


def expected(needle: str, texts: list[list[str]]) -> int | None:
    """How many rows contain `needle` in one of their texts, ignoring case; None when the
    engines' LOWER() differ for it (non-ASCII: SQLite lowercases ASCII only)."""
    needle = needle.strip()
    if not needle.isascii():
        return None
    if "\0" in needle:
        return 0  # no stored text holds NUL
    return sum(any(needle.lower() in text.lower() for text in row) for row in texts)


def count_on_page(html: str, noun: str) -> int | None:
    found = re.search(rf"(\d+) {noun}s?\b", html)
    return int(found.group(1)) if found else None


class Known:
    """The admin's (piccolo_api's) 500s, which the project can't fix in its own code: reported,
    and checked still to happen, so the list is emptied when they are fixed."""

    @staticmethod
    def why(label: str, payload: str) -> str | None:
        if label == "admin __order":
            return "piccolo_api raises ValueError for an __order naming no column"
        if label.startswith("admin filter") and len(payload) > 200:
            return "piccolo_api's filter model refuses a long value with a 500 (pydantic)"
        if label.startswith("admin filter") and "\0" in payload and TEST_DATABASE == "postgres":
            return "PostgreSQL refuses NUL in the admin's filter query"
        return None


async def test_sql_payloads_in_searches_and_filters_are_inert(
    client: httpx.AsyncClient, people: People, figures: Figures
) -> None:
    counter = Counter()
    counter.attach(client)
    await demo.load()
    tools = (await Category.insert(Category(name="Odd", slug="odd")))[0]["id"]
    await Product.insert(
        *(
            Product(name=name, description="", price=Decimal(1), category=tools)
            for name in ODD_PRODUCTS
        )
    )
    today = datetime.datetime.now(datetime.UTC).date()
    await Registrant.insert(
        *(
            Registrant(
                name=name,
                email=f"person{number}@example.com",
                company="Quote ' Co",
                webinar_date=today,
                registered_at=datetime.datetime.now(datetime.UTC),
            )
            for number, name in enumerate(ODD_PEOPLE)
        )
    )
    products = [
        [row["name"], row["description"]]
        for row in await Product.select(Product.name, Product.description)
    ]
    registrants = [
        [row["name"], row["email"], row["company"]]
        for row in await Registrant.select(Registrant.name, Registrant.email, Registrant.company)
    ]
    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://localhost")
    counter.attach(anonymous)
    token = await csrf_token(anonymous)
    await log_in(client, "boss")
    counts_before = await row_counts(skip=[LoginThrottle, SessionsBase])
    stored_before = await fingerprint(skip=[LoginThrottle, SessionsBase])

    problems: list[str] = []
    known: dict[str, str] = {}
    slowest = 0.0

    async def check(
        label: str,
        payload: str,
        request: Awaitable[httpx.Response],
        statuses: set[int],
        test: Callable[[httpx.Response], str | None] = lambda response: None,
    ) -> None:
        nonlocal slowest
        started = time.monotonic()
        response = await request
        slowest = max(slowest, time.monotonic() - started)
        reason = Known.why(label, payload)
        failed = response.status_code not in statuses
        problem = f"{label} {payload[:40]!r}: {response.status_code} {response.text[:120]}"
        if reason:
            if failed:
                known[reason] = problem
            else:
                problems.append(f"{label} {payload[:40]!r} works now: remove it from Known")
        elif failed:
            problems.append(problem)
        elif why := test(response):
            problems.append(f"{label} {payload[:40]!r}: {why}")

    def total_is(count: int | None) -> Callable[[httpx.Response], str | None]:
        def test(response: httpx.Response) -> str | None:
            if count is None or response.json()["total"] == count:
                return None
            return f"total {response.json()['total']}, expected {count}"

        return test

    def page_count_is(noun: str, count: int | None) -> Callable[[httpx.Response], str | None]:
        def test(response: httpx.Response) -> str | None:
            shown = count_on_page(response.text, noun)
            return None if count is None or shown == count else f"{shown} {noun}s, not {count}"

        return test

    for payload in SQL:
        in_products = expected(payload, products)
        in_registrants = expected(payload, registrants)
        get = client.get
        for label, url, params, statuses, test in [
            ("products API q", "/api/products", {"q": payload}, {200}, total_is(in_products)),
            (
                "products page q",
                "/products",
                {"q": payload},
                {200},
                page_count_is("product", in_products),
            ),
            ("products API category", "/api/products", {"category": payload}, {200}, None),
            ("products page category", "/products", {"category": payload}, {200}, None),
            ("products API sort", "/api/products", {"sort": payload}, {400}, None),
            ("products API page", "/api/products", {"page": payload}, {400}, None),
            ("products API page_size", "/api/products", {"page_size": payload}, {400}, None),
            (
                "registrants API q",
                "/api/webinars/registrants",
                {"q": payload},
                {200},
                total_is(in_registrants),
            ),
            (
                "registrants page q",
                "/webinars/registrants",
                {"q": payload},
                {200},
                page_count_is("registrant", in_registrants),
            ),
            (
                "admin filter product.name",
                "/admin/api/tables/product/",
                {"name": payload},
                {200},
                None,
            ),
            (
                "admin filter registrant.email",
                "/admin/api/tables/registrant/",
                {"email": payload},
                {200},
                None,
            ),
            ("admin __order", "/admin/api/tables/product/", {"__order": payload}, {200, 400}, None),
        ]:
            await check(
                label,
                payload,
                get(url, params=params, headers=HTML),
                statuses,
                test or (lambda response: None),
            )
        await check(
            "product id in the path",
            payload,
            get(f"/api/products/{quote(payload, safe='')}"),
            {404},
        )
        await check(
            "login username",
            payload,
            anonymous.post(
                "/login", data={"username": payload, "password": payload, "_csrf_token": token}
            ),
            {400, 429},
            lambda response: "logged in" if "id" in anonymous.cookies else None,
        )

    await anonymous.aclose()
    assert await row_counts(skip=[LoginThrottle, SessionsBase]) == counts_before
    assert await fingerprint(skip=[LoginThrottle, SessionsBase]) == stored_before
    figures.record(PART, "payloads", len(SQL))
    figures.record(PART, "requests with a payload", counter.requests)
    figures.record(PART, "problems (5xx, wrong rows, slow) outside the admin", len(problems))
    figures.record(PART, "slowest answer, s", round(slowest, 3), f"limit {SLOW}")
    figures.record(PART, "tables verified unchanged (rows and contents)", len(counts_before))
    for reason, example in sorted(known.items()):
        figures.record(PART, "known hole (admin, piccolo_api)", 1, f"{reason}: {example[:80]}")
    assert not problems, "\n".join(problems[:60])
    assert slowest < SLOW, f"a payload took {slowest:.2f} s"
