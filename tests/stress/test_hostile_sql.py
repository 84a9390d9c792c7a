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
from litestar import Litestar
from piccolo.columns import Varchar
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.tables import LoginThrottle
from bandstand.audit.tables import AuditEntry
from bandstand.testing.accounts import People, csrf_token, log_in
from tests.stress.figures import Figures
from tests.stress.hostile import HTML, Counter, fingerprint, row_counts
from tests.stress.payloads import SQL
from tests.support.sample import demo
from tests.support.tables import Album, Band, Fan

PART = "hostile input: SQL-ish"
# Literal wildcards, quotes and backslashes in stored text, for the searches to find.
ODD_ALBUMS = [
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


def admin_filter(column: Varchar, payload: str) -> set[int]:
    """What the admin answers a filter on `column`: refused (400) for text no row can hold
    (NUL, which PostgreSQL can't store, or more than the column's length), else its rows."""
    too_long = column.length is not None and len(payload) > column.length
    return {400} if "\0" in payload or too_long else {200}


async def test_sql_payloads_in_searches_and_filters_are_inert(
    client: httpx.AsyncClient, sample: Litestar, people: People, figures: Figures
) -> None:
    counter = Counter()
    counter.attach(client)
    await demo.load()
    odd = (await Band.insert(Band(name="O'Dd %_ \\ Band")))[0]["id"]
    await Album.insert(
        *(Album(title=title, description="", price=Decimal(1), band=odd) for title in ODD_ALBUMS)
    )
    now = datetime.datetime.now(datetime.UTC)
    await Fan.insert(
        *(
            Fan(
                name=name,
                email=f"person{number}@example.com",
                band=odd,
                notes="Quote ' Co",
                joined_at=now,
            )
            for number, name in enumerate(ODD_PEOPLE)
        )
    )
    albums = [
        [row["title"], row["description"]]
        for row in await Album.select(Album.title, Album.description)
    ]
    fans = [
        [row["name"], row["email"], row["notes"]]
        for row in await Fan.select(Fan.name, Fan.email, Fan.notes)
    ]
    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://localhost")
    counter.attach(anonymous)
    token = await csrf_token(anonymous)
    await log_in(client, "boss")
    counts_before = await row_counts(sample, skip=[LoginThrottle, SessionsBase, AuditEntry])
    stored_before = await fingerprint(sample, skip=[LoginThrottle, SessionsBase, AuditEntry])

    problems: list[str] = []
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
        if response.status_code not in statuses:
            problems.append(
                f"{label} {payload[:40]!r}: {response.status_code} {response.text[:120]}"
            )
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
        in_albums = expected(payload, albums)
        in_fans = expected(payload, fans)
        get = client.get
        for label, url, params, statuses, test in [
            ("albums API q", "/api/albums", {"q": payload}, {200}, total_is(in_albums)),
            ("albums page q", "/albums", {"q": payload}, {200}, page_count_is("album", in_albums)),
            # No band is named like a payload: a filter that matched more would be SQL.
            ("albums API band", "/api/albums", {"band": payload}, {200}, total_is(0)),
            ("albums page band", "/albums", {"band": payload}, {200}, None),
            ("albums API sort", "/api/albums", {"sort": payload}, {400}, None),
            ("albums API page", "/api/albums", {"page": payload}, {400}, None),
            ("albums API page_size", "/api/albums", {"page_size": payload}, {400}, None),
            ("fans API q", "/api/fans", {"q": payload}, {200}, total_is(in_fans)),
            ("fans page q", "/fans", {"q": payload}, {200}, page_count_is("fan", in_fans)),
            (
                "admin filter album.title",
                "/admin/api/tables/album/",
                {"title": payload},
                admin_filter(Album.title, payload),
                None,
            ),
            (
                "admin filter fan.email",
                "/admin/api/tables/fan/",
                {"email": payload},
                admin_filter(Fan.email, payload),
                None,
            ),
            ("admin __order", "/admin/api/tables/album/", {"__order": payload}, {200, 400}, None),
        ]:
            await check(
                label,
                payload,
                get(url, params=params, headers=HTML),
                statuses,
                test or (lambda response: None),
            )
        await check(
            "album id in the path",
            payload,
            get(f"/api/albums/{quote(payload, safe='')}"),
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
    # The refused logins are counted, and recorded in the audit log: what those tables are for.
    skip = [LoginThrottle, SessionsBase, AuditEntry]
    assert await row_counts(sample, skip=skip) == counts_before
    assert await fingerprint(sample, skip=skip) == stored_before
    figures.record(PART, "payloads", len(SQL))
    figures.record(PART, "requests with a payload", counter.requests)
    figures.record(PART, "problems (5xx, wrong rows, slow)", len(problems))
    figures.record(PART, "slowest answer, s", round(slowest, 3), f"limit {SLOW}")
    figures.record(PART, "tables verified unchanged (rows and contents)", len(counts_before))
    assert not problems, "\n".join(problems[:60])
    assert slowest < SLOW, f"a payload took {slowest:.2f} s"
