"""Requests leave no reference cycles: what a request made is freed when it ends.

Objects in a cycle wait for the garbage collector instead, whose passes then run every few
requests under load; one cycle per request (htmx's request class) cost a one-row JSON read a
tenth of its throughput (bench/). The app is called as uvicorn calls it, without an HTTP client
whose own objects would be counted too: the framework's routes, and a feature's JSON API (the
sample site's, tests/support/sample/).
"""

from __future__ import annotations

import datetime
import gc
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import msgspec
import pytest
from litestar import Litestar

from bandstand.accounts.sessions import SESSION_COOKIE, start_session
from bandstand.accounts.users import create_user
from bandstand.settings import get_settings
from bandstand.testing.accounts import CSRF_FIELD, PASSWORD
from tests.support.sample import sample_app
from tests.support.tables import Band, Fan

REQUESTS = 20
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

Headers = list[tuple[bytes, bytes]]


class Answer(msgspec.Struct):
    status: int
    headers: Headers
    body: bytes


async def call(
    app: Litestar, method: str, url: str, headers: Headers | None = None, body: bytes = b""
) -> Answer:
    path, _, query = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"localhost"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 443),
        "state": {},
    }
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    start, *parts = messages
    return Answer(start["status"], list(start["headers"]), b"".join(m["body"] for m in parts))


class Site(msgspec.Struct):
    app: Litestar
    band: int  # the id of a band to add albums to
    session: bytes  # a staff user's session cookie, "id=…"
    # What a page hands out: the CSRF cookie ("site_csrf=…") and the token its form carries.
    csrf_cookie: bytes
    csrf_token: bytes

    def signed_in(self) -> Headers:
        return [(b"cookie", self.session)]

    def writing(self, *, token: bool = True) -> Headers:
        """A signed-in script's JSON write, with the CSRF token or without it."""
        headers = [(b"cookie", b"; ".join((self.session, self.csrf_cookie)))]
        if token:
            headers.append((b"x-site-csrf", self.csrf_token))
        return [*headers, (b"content-type", b"application/json")]


@pytest.fixture
async def site(clean_tables: None, test_tables: None) -> AsyncIterator[Site]:
    settings = msgspec.structs.replace(
        get_settings(), environment="production", secret_key="k" * 48, allowed_hosts=("localhost",)
    )
    app = await anyio.to_thread.run_sync(sample_app, settings)
    staff = await create_user("staff", "staff@example.com", PASSWORD, admin=True)
    (band,) = await Band.insert(Band(name="Pythonistas"))
    # A row for the JSON read to serialise.
    await Fan.insert(Fan(name="Ada", email="ada@example.com", band=band["id"], joined_at=NOW))
    async with app.lifespan():
        page = await call(app, "GET", "/login")
        token = CSRF_FIELD.search(page.body.decode())
        cookie = re.search(rb"site_csrf=[^;]+", dict(page.headers)[b"set-cookie"])
        assert token
        assert cookie
        session = await start_session(staff, get_settings())
        yield Site(
            app,
            band=band["id"],
            session=f"{SESSION_COOKIE}={session}".encode(),
            csrf_cookie=cookie.group(),
            csrf_token=token.group(1).encode(),
        )


@pytest.fixture
def collector_paused() -> Iterator[None]:
    """Only the test's own garbage is counted: what came before is collected, and no pass runs
    while the requests do."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def album(site: Site, number: int) -> bytes:
    return msgspec.json.encode({"title": f"Album {number}", "price": "9.99", "band_id": site.band})


# For each kind: the status it must answer, and its n-th request (method, URL, headers, body).
MakeRequest = Callable[[Site, int], tuple[str, str, Headers, bytes]]
REQUESTS_BY_KIND: dict[str, tuple[int, MakeRequest]] = {
    "page with a form": (200, lambda s, n: ("GET", "/login", [], b"")),
    "signed-in page": (200, lambda s, n: ("GET", "/account", s.signed_in(), b"")),
    "signed-in JSON read": (
        200,
        lambda s, n: ("GET", "/api/fans", s.signed_in(), b""),
    ),
    "probe reading the database": (200, lambda s, n: ("GET", "/readyz", [], b"")),
    "no such page": (404, lambda s, n: ("GET", "/no/such/page", [], b"")),
    "JSON write": (
        201,
        lambda s, n: ("POST", "/api/albums", s.writing(), album(s, n)),
    ),
    "write without a CSRF token": (
        403,
        lambda s, n: ("POST", "/api/albums", s.writing(token=False), album(s, n)),
    ),
}


@pytest.mark.parametrize("kind", REQUESTS_BY_KIND)
async def test_a_request_leaves_no_reference_cycles(
    site: Site, collector_paused: None, kind: str
) -> None:
    status, make = REQUESTS_BY_KIND[kind]
    # Anything made once, on first use (a compiled query, a template), is made now.
    assert (await call(site.app, *make(site, 0))).status == status
    gc.collect()
    for number in range(1, REQUESTS + 1):
        assert (await call(site.app, *make(site, number))).status == status
    assert gc.collect() == 0
