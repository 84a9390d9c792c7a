"""64 connections for 60 s mixing reads, writes and logins, on the pass's database: zero
errors, and every acknowledged write is in the database afterwards, nothing more, and no
write is half done.

The sample site runs as deployed (`piccolo project serve`, production settings) on a fresh
database set up by the release step. 64 simulated visitors share a 64-connection client; each
picks its next request at random (seeded) among: HTML pages, JSON reads, joining a band's fans
through the JSON API (CSRF) and through the HTML form, joining again with a taken address
(409), a staff member adding an album (session and CSRF), logins right and wrong from their
own addresses, and bad logins from one address until the throttle answers 429. Afterwards the
tables are read with the driver directly.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.stress.figures import Figures
from tests.stress.traffic import (
    PASSWORD,
    TRACEBACK_SIGNS,
    Browser,
    Record,
    checksum,
    joining,
    prepare_database,
    read_database,
    serving,
)

pytestmark = pytest.mark.timeout(420)

PART = "load: 64 connections, 60 s"
CONNECTIONS = 64
SECONDS = 60.0
STAFF = 16
FAILURES_PER_CLIENT = 20  # LOGIN_FAILURES_PER_CLIENT's default, set explicitly below
THROTTLED_ADDRESS = "198.51.100.250"
SEED = 20261126
# Relative weights of the next request's kind.
MIX = {
    "page": 26,
    "api": 26,
    "join": 16,
    "join form": 6,
    "join again": 3,
    "album": 8,
    "login": 2,
    "bad login": 2,
    "throttled login": 2,
    "account": 4,
}
EXPECTED = {
    "setup": {200, 303},
    "page": {200},
    "api": {200},
    "join": {201},
    "join form": {200, 303},  # the form, then the redirect of a good one
    "join again": {409},
    "album": {201},
    "login": {200, 303},  # the form, then the redirect of a good login
    "bad login": {200, 400},  # the form, then "wrong username or password"
    "throttled login": {200, 400, 429},
    "account": {200},
}
FANS = "SELECT email, name FROM fan"
PAGES = ("/", "/albums", "/albums?page=2", "/albums?sort=price", "/join", "/login")


@dataclass
class Written:
    """What the server acknowledged writing, as the client saw it."""

    fans: dict[str, str] = field(default_factory=dict)  # e-mail → name
    albums: dict[int, str] = field(default_factory=dict)  # id → title
    throttled: Counter[int] = field(default_factory=Counter)


@dataclass(frozen=True)
class Data:
    """The rows the visitors pick from."""

    albums: list[int]
    bands: list[int]


class Visitor:
    def __init__(
        self,
        number: int,
        http: httpx.AsyncClient,
        base: str,
        record: Record,
        written: Written,
        data: Data,
    ) -> None:
        self.number = number
        self.http = http
        self.base = base
        self.record = record
        self.written = written
        self.data = data
        self.random = random.Random(SEED + number)
        self.browser = Browser(http, record, base, address=f"10.1.{number}.1")
        self.sent = 0
        self.mine: list[str] = []

    def fresh_browser(self) -> Browser:
        """A new visitor (no cookies) from an address no one else uses."""
        self.sent += 1
        address = f"10.{2 + self.sent // 250}.{self.number}.{self.sent % 250 + 1}"
        return Browser(self.http, self.record, self.base, address=address)

    async def set_up(self) -> None:
        """Log in as a staff member (load0…load15), with the CSRF header for the API."""
        answer = await self.browser.log_in("setup", f"load{self.number % STAFF}", PASSWORD)
        assert answer is not None, "no login form"
        assert answer.status == 303, answer.sample()
        token = await self.browser.form_token("setup", "/account")
        assert token, "no CSRF token on /account"
        self.browser.csrf = token

    async def run(self, deadline: float) -> None:
        kinds = list(MIX)
        weights = list(MIX.values())
        actions: dict[str, Callable[[], Awaitable[None]]] = {
            "page": self.page,
            "api": self.api,
            "join": self.join,
            "join form": self.join_form,
            "join again": self.join_again,
            "album": self.album,
            "login": self.login,
            "bad login": self.bad_login,
            "throttled login": self.throttled_login,
            "account": self.account,
        }
        while time.monotonic() < deadline:
            await actions[self.random.choices(kinds, weights)[0]]()

    def new_fan(self) -> tuple[str, str, int]:
        self.sent += 1
        email = f"load-{self.number}-{self.sent}@example.com"
        name = f"Visitor {self.number} #{self.sent} «{self.random.randint(0, 10**6)}»"
        return email, name, self.random.choice(self.data.bands)

    async def page(self) -> None:
        path = self.random.choice([*PAGES, f"/albums/{self.random.choice(self.data.albums)}"])
        await self.browser.request("page", "GET", path, headers={"accept": "text/html"})

    async def api(self) -> None:
        path = self.random.choice(
            [
                f"/api/albums/{self.random.choice(self.data.albums)}",
                "/api/albums",
                f"/api/albums?page={self.random.randint(1, 3)}&page_size=10",
                "/api/albums?q=a&sort=-price",
            ]
        )
        await self.browser.request("api", "GET", path)

    async def join(self) -> None:
        email, name, band = self.new_fan()
        answer = await self.browser.request(
            "join", "POST", "/api/fans", json=joining(email, name, band)
        )
        if answer.status == 201:
            self.written.fans[email] = name
            self.mine.append(email)

    async def join_form(self) -> None:
        email, name, band = self.new_fan()
        token = await self.browser.form_token("join form", "/join")
        if token is None:
            return
        answer = await self.browser.request(
            "join form",
            "POST",
            "/join",
            headers={"accept": "text/html"},
            data={**joining(email, name, band), "_csrf_token": token},
        )
        if answer.status == 303:
            self.written.fans[email] = name
            self.mine.append(email)

    async def join_again(self) -> None:
        if not self.mine:
            return await self.join()
        email = self.random.choice(self.mine)
        body = joining(email, "Someone else", self.random.choice(self.data.bands))
        await self.browser.request("join again", "POST", "/api/fans", json=body)
        return None

    async def album(self) -> None:
        self.sent += 1
        title = f"Album {self.number} #{self.sent} «{self.random.randint(0, 10**6)}»"
        body = {
            "title": title,
            "price": f"{self.random.randint(100, 9999) / 100:.2f}",
            "band_id": self.random.choice(self.data.bands),
        }
        answer = await self.browser.request("album", "POST", "/api/albums", json=body)
        if answer.status == 201:
            self.written.albums[int(json.loads(answer.body)["id"])] = title

    async def login(self) -> None:
        user = f"load{self.random.randrange(STAFF)}"
        await self.fresh_browser().log_in("login", user, PASSWORD)

    async def bad_login(self) -> None:
        self.sent += 1
        # An account of its own each time, and an address of its own: no limit is reached.
        user = f"nobody-{self.number}-{self.sent}"
        await self.fresh_browser().log_in("bad login", user, "wrong password")

    async def throttled_login(self) -> None:
        self.sent += 1
        browser = Browser(self.http, self.record, self.base, address=THROTTLED_ADDRESS)
        answer = await browser.log_in("throttled login", f"guess-{self.number}-{self.sent}", "x")
        if answer is not None and answer.status is not None:
            self.written.throttled[answer.status] += 1

    async def account(self) -> None:
        await self.browser.request("account", "GET", "/account", headers={"accept": "text/html"})


async def drive(base: str, data: Data) -> tuple[Record, Written, float]:
    record, written = Record(), Written()
    limits = httpx.Limits(
        max_connections=CONNECTIONS,
        max_keepalive_connections=CONNECTIONS,
        # Under uvicorn's 5 s keep-alive, as a proxy's idle timeout is set under its upstream's:
        # with equal timeouts a request can go out on a connection the server is just closing.
        keepalive_expiry=2.0,
    )
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        visitors = [
            Visitor(number, http, base, record, written, data) for number in range(CONNECTIONS)
        ]
        await asyncio.gather(*(visitor.set_up() for visitor in visitors))
        started = time.monotonic()
        await asyncio.gather(*(visitor.run(started + SECONDS) for visitor in visitors))
        return record, written, time.monotonic() - started


def test_64_connections_for_60_seconds(
    fresh_database_url: str, tmp_path: Path, figures: Figures, database_kind: str
) -> None:
    media = str(tmp_path / "media")
    prepare_database(fresh_database_url, users=STAFF, MEDIA_ROOT=media)
    albums = {row["id"] for row in read_database(fresh_database_url, "SELECT id FROM album")}
    bands = [row["id"] for row in read_database(fresh_database_url, "SELECT id FROM band")]
    assert albums, "the sample data has no albums"
    assert bands, "the sample data has no bands"
    demo = {row["email"]: row["name"] for row in read_database(fresh_database_url, FANS)}
    log = tmp_path / "server.log"
    with serving(
        fresh_database_url,
        log,
        MEDIA_ROOT=media,
        LOGIN_FAILURES_PER_CLIENT=str(FAILURES_PER_CLIENT),
    ) as server:
        record, written, seconds = asyncio.run(drive(server.base, Data(sorted(albums), bands)))
        alive = server.process.poll() is None
    server_errors = [
        line
        for line in server.log_lines()
        if line.get("level") in {"ERROR", "CRITICAL"} or "Traceback" in str(line)
    ]

    # Zero errors: no 5xx, no transport error, nothing but the expected answer of each kind.
    unexpected = record.unexpected(EXPECTED)
    leaks = [a for a in record.answers if a.status != 200 and _shows_internals(a.body)]
    counts = Counter(a.kind for a in record.answers)
    everyone = {row["email"]: row["name"] for row in read_database(fresh_database_url, FANS)}
    stored = {email: name for email, name in everyone.items() if email not in demo}
    rows = read_database(fresh_database_url, "SELECT id, title FROM album")
    new_albums = {row["id"]: row["title"] for row in rows if row["id"] not in albums}
    miscounted = read_database(
        fresh_database_url,
        "SELECT band.id, band.popularity, COUNT(fan.id) AS fans FROM band "
        "LEFT JOIN fan ON fan.band = band.id GROUP BY band.id, band.popularity "
        "HAVING band.popularity != COUNT(fan.id)",
    )

    figures.record(PART, "requests", len(record.answers), f"in {seconds:.0f} s, {database_kind}")
    figures.record(PART, "requests per second", len(record.answers) / seconds)
    figures.record(PART, "errors (5xx, transport, unexpected)", len(unexpected))
    for kind in MIX:
        figures.record(PART, f"requests: {kind}", counts[kind])
    figures.record(PART, "joins acknowledged (API and form)", len(written.fans))
    figures.record(PART, "fan rows verified", len(stored), "count and checksum equal")
    figures.record(PART, "albums acknowledged and verified", len(new_albums), "title = row")
    figures.record(PART, "bands whose count of fans is off", len(miscounted), "one transaction")
    figures.record(
        PART,
        "throttled logins: 400 then 429",
        written.throttled[429],
        f"{written.throttled[400]} refused as wrong before the limit of {FAILURES_PER_CLIENT}",
    )
    figures.record(PART, "p99 latency ms", _percentile(record, 0.99) * 1000)

    assert alive, f"the server exited during the load:\n{log.read_text()[-3000:]}"
    assert not unexpected, record.evidence(unexpected)
    assert not leaks, record.evidence(leaks)
    assert not server_errors, server_errors[:5]
    assert min(counts[kind] for kind in MIX) > 0, counts

    # Every acknowledged join is stored, as sent, and nothing else is.
    assert {email: everyone.get(email) for email in demo} == demo, "the sample rows changed"
    assert len(stored) == len(written.fans), (len(stored), len(written.fans))
    assert checksum(stored.items()) == checksum(written.fans.items())
    assert stored == written.fans
    # Every acknowledged album is stored with its title, and no other.
    assert new_albums == written.albums
    # A join writes the fan and counts it in one transaction: never one without the other.
    assert not miscounted, miscounted[:5]
    # The throttle let exactly its limit of wrong guesses from one address through, then 429.
    if sum(written.throttled.values()) > FAILURES_PER_CLIENT:
        assert written.throttled[400] == FAILURES_PER_CLIENT, written.throttled
        assert written.throttled[429] > 0, written.throttled


def _shows_internals(body: str) -> bool:
    return any(sign in body for sign in TRACEBACK_SIGNS)


def _percentile(record: Record, fraction: float) -> float:
    durations = sorted(a.seconds for a in record.answers)
    return durations[min(len(durations) - 1, int(len(durations) * fraction))]
