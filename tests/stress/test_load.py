"""64 connections for 60 s mixing reads, writes, logins and chat streams, on the pass's database:
zero errors, and every acknowledged write is in the database afterwards, nothing more.

The app runs as deployed (`piccolo project serve`, production settings) on a fresh database
set up by the release step. 64 simulated visitors share a 64-connection client; each picks its
next request at random (seeded) among: HTML pages, JSON reads, a registration (JSON API, CSRF),
registering a taken address again (409), logins right and wrong from their own addresses, bad
logins from one address until the throttle answers 429, and a chat message whose reply streams
back. Afterwards the registrant and message tables are read with the driver directly.
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
from typing import Any

import httpx
import pytest

from tests.stress.figures import Figures
from tests.stress.traffic import (
    PASSWORD,
    TRACEBACK_SIGNS,
    Browser,
    Record,
    checksum,
    prepare_database,
    read_database,
    registration,
    serving,
)

pytestmark = pytest.mark.timeout(420)

PART = "load: 64 connections, 60 s"
CONNECTIONS = 64
SECONDS = 60.0
CHAT_USERS = 16
FAILURES_PER_CLIENT = 20  # LOGIN_FAILURES_PER_CLIENT's default, set explicitly below
THROTTLED_ADDRESS = "198.51.100.250"
SEED = 20261126
# Relative weights of the next request's kind.
MIX = {
    "page": 22,
    "api": 24,
    "register": 22,
    "register again": 3,
    "login": 2,
    "bad login": 2,
    "throttled login": 2,
    "chat": 12,
    "account": 4,
}
EXPECTED = {
    "setup": {200, 201, 303},
    "page": {200},
    "api": {200},
    "register": {201},
    "register again": {409},
    "login": {200, 303},  # the form, then the redirect of a good login
    "bad login": {200, 400},  # the form, then "wrong username or password"
    "throttled login": {200, 400, 429},
    "chat": {200},
    "account": {200},
}
REGISTRANTS = "SELECT email, name FROM registrant"
PAGES = ("/", "/products", "/products?page=2", "/products?sort=price", "/webinars", "/login")


@dataclass
class Written:
    """What the server acknowledged writing, as the client saw it."""

    registrants: dict[str, str] = field(default_factory=dict)  # e-mail → name
    replies: dict[int, str] = field(default_factory=dict)  # message id → streamed text
    prompts: dict[int, list[str]] = field(default_factory=dict)  # conversation → sent
    conversations: set[int] = field(default_factory=set)
    throttled: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


class Visitor:
    def __init__(
        self,
        number: int,
        http: httpx.AsyncClient,
        base: str,
        record: Record,
        written: Written,
        product_ids: list[int],
    ) -> None:
        self.number = number
        self.http = http
        self.base = base
        self.record = record
        self.written = written
        self.product_ids = product_ids
        self.random = random.Random(SEED + number)
        self.browser = Browser(http, record, base, address=f"10.1.{number}.1")
        self.sent = 0
        self.mine: list[str] = []
        self.conversation = 0

    def fresh_browser(self) -> Browser:
        """A new visitor (no cookies) from an address no one else uses."""
        self.sent += 1
        address = f"10.{2 + self.sent // 250}.{self.number}.{self.sent % 250 + 1}"
        return Browser(self.http, self.record, self.base, address=address)

    async def set_up(self) -> None:
        """Log in as a chat user (load0…load15) and open a conversation of its own."""
        user = f"load{self.number % CHAT_USERS}"
        answer = await self.browser.log_in("setup", user, PASSWORD)
        assert answer is not None, "no login form"
        assert answer.status == 303, answer.sample()
        token = await self.browser.form_token("setup", "/account")
        assert token, "no CSRF token on /account"
        self.browser.csrf = token
        created = await self.browser.request(
            "setup", "POST", "/api/chat/conversations", json={"title": f"load {self.number}"}
        )
        assert created.status == 201, created.sample()
        self.conversation = int(_json(created.body)["id"])
        self.written.conversations.add(self.conversation)
        self.written.prompts[self.conversation] = []

    async def run(self, deadline: float) -> None:
        kinds = list(MIX)
        weights = list(MIX.values())
        actions: dict[str, Callable[[], Awaitable[None]]] = {
            "page": self.page,
            "api": self.api,
            "register": self.register,
            "register again": self.register_again,
            "login": self.login,
            "bad login": self.bad_login,
            "throttled login": self.throttled_login,
            "chat": self.chat,
            "account": self.account,
        }
        while time.monotonic() < deadline:
            await actions[self.random.choices(kinds, weights)[0]]()

    async def page(self) -> None:
        path = self.random.choice([*PAGES, f"/products/{self.random.choice(self.product_ids)}"])
        await self.browser.request("page", "GET", path, headers={"accept": "text/html"})

    async def api(self) -> None:
        path = self.random.choice(
            [
                f"/api/products/{self.random.choice(self.product_ids)}",
                "/api/products",
                f"/api/products?page={self.random.randint(1, 3)}&page_size=10",
                "/api/products?q=a&sort=-price",
            ]
        )
        await self.browser.request("api", "GET", path)

    async def register(self) -> None:
        self.sent += 1
        email = f"load-{self.number}-{self.sent}@example.com"
        name = f"Visitor {self.number} #{self.sent} «{self.random.randint(0, 10**6)}»"
        answer = await self.browser.request(
            "register", "POST", "/api/webinars/registrants", json=registration(email, name)
        )
        if answer.status == 201:
            self.written.registrants[email] = name
            self.mine.append(email)

    async def register_again(self) -> None:
        if not self.mine:
            return await self.register()
        email = self.random.choice(self.mine)
        await self.browser.request(
            "register again",
            "POST",
            "/api/webinars/registrants",
            json=registration(email, "Someone else"),
        )
        return None

    async def login(self) -> None:
        user = f"load{self.random.randrange(CHAT_USERS)}"
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

    async def chat(self) -> None:
        self.sent += 1
        content = f"visitor {self.number} says hello number {self.sent}"
        path = f"/api/chat/conversations/{self.conversation}/messages"
        answer, events = await self.browser.stream("chat", path, {"content": content})
        if answer.status != 200:
            return
        self.written.prompts[self.conversation].append(content)
        tokens = [event.data for event in events if event.kind == "token"]
        done = [event.data for event in events if event.kind == "done"]
        if len(done) != 1 or done[0]["status"] != "complete" or not tokens:
            self.written.problems.append(f"stream without a complete reply: {events[-3:]}")
            return
        self.written.replies[int(done[0]["message_id"])] = "".join(tokens)

    async def account(self) -> None:
        await self.browser.request("account", "GET", "/account", headers={"accept": "text/html"})


def _json(body: str) -> dict[str, Any]:
    value = json.loads(body)
    assert isinstance(value, dict)
    return value


async def drive(base: str, product_ids: list[int]) -> tuple[Record, Written, float]:
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
            Visitor(number, http, base, record, written, product_ids)
            for number in range(CONNECTIONS)
        ]
        await asyncio.gather(*(visitor.set_up() for visitor in visitors))
        started = time.monotonic()
        await asyncio.gather(*(visitor.run(started + SECONDS) for visitor in visitors))
        return record, written, time.monotonic() - started


def test_64_connections_for_60_seconds(
    fresh_database_url: str, tmp_path: Path, figures: Figures, database_kind: str
) -> None:
    prepare_database(fresh_database_url, users=CHAT_USERS)
    product_ids = [row["id"] for row in read_database(fresh_database_url, "SELECT id FROM product")]
    assert product_ids, "the demo data has no products"
    demo = {row["email"]: row["name"] for row in read_database(fresh_database_url, REGISTRANTS)}
    log = tmp_path / "server.log"
    with serving(
        fresh_database_url,
        log,
        MEDIA_ROOT=str(tmp_path / "media"),
        LOGIN_FAILURES_PER_CLIENT=str(FAILURES_PER_CLIENT),
        LLM_API_KEY="",
        LLM_OFFLINE_TOKEN_DELAY_MS="5",
    ) as server:
        record, written, seconds = asyncio.run(drive(server.base, product_ids))
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
    everyone = {row["email"]: row["name"] for row in read_database(fresh_database_url, REGISTRANTS)}
    stored = {email: name for email, name in everyone.items() if email not in demo}
    messages = read_database(
        fresh_database_url,
        "SELECT id, conversation, role, content, status FROM message ORDER BY id",
    )
    ours = [m for m in messages if m["conversation"] in written.conversations]
    replies = {m["id"]: m for m in ours if m["role"] == "assistant"}
    prompts = [m for m in ours if m["role"] == "user"]

    figures.record(PART, "requests", len(record.answers), f"in {seconds:.0f} s, {database_kind}")
    figures.record(PART, "requests per second", len(record.answers) / seconds)
    figures.record(PART, "errors (5xx, transport, unexpected)", len(unexpected))
    for kind in MIX:
        figures.record(PART, f"requests: {kind}", counts[kind])
    figures.record(PART, "registrations acknowledged", len(written.registrants))
    figures.record(PART, "registrant rows verified", len(stored), "count and checksum equal")
    figures.record(PART, "chat replies verified", len(written.replies), "streamed text = row")
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
    assert not written.problems, written.problems[:5]
    assert min(counts[kind] for kind in MIX) > 0, counts

    # Every acknowledged registration is stored, as sent, and nothing else is.
    assert {email: everyone.get(email) for email in demo} == demo, "the demo rows changed"
    assert len(stored) == len(written.registrants), (len(stored), len(written.registrants))
    assert checksum(stored.items()) == checksum(written.registrants.items())
    assert stored == written.registrants
    # Every streamed reply is stored, complete, with exactly the text that was streamed; each
    # after the prompt that asked for it, in one piece (the prompt and reply are written in one
    # transaction), and no reply is left "streaming".
    assert len(replies) == len(written.replies) == len(prompts), (len(replies), len(prompts))
    for message_id, text in written.replies.items():
        assert replies[message_id]["content"] == text, message_id
        assert replies[message_id]["status"] == "complete", replies[message_id]
    sent = sorted(p for texts in written.prompts.values() for p in texts)
    assert sorted(m["content"] for m in prompts) == sent
    # The throttle let exactly its limit of wrong guesses from one address through, then 429.
    if sum(written.throttled.values()) > FAILURES_PER_CLIENT:
        assert written.throttled[400] == FAILURES_PER_CLIENT, written.throttled
        assert written.throttled[429] > 0, written.throttled


def _shows_internals(body: str) -> bool:
    return any(sign in body for sign in TRACEBACK_SIGNS)


def _percentile(record: Record, fraction: float) -> float:
    durations = sorted(a.seconds for a in record.answers)
    return durations[min(len(durations) - 1, int(len(durations) * fraction))]
