"""Requests leave no reference cycles: what a request made is freed when it ends.

Objects in a cycle wait for the garbage collector instead, whose passes then run every few
requests under load; one cycle per request (htmx's request class) cost a one-product JSON read a
tenth of its throughput (bench/). The app is called as uvicorn calls it, without an HTTP client
whose own objects would be counted too.
"""

from __future__ import annotations

import gc
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from project.accounts.sessions import SESSION_COOKIE, start_session
from project.accounts.users import create_user
from project.catalog.tables import Category, Product
from project.settings import get_settings
from tests.support.accounts import CSRF_FIELD, PASSWORD
from tests.support.apps import build_app

REQUESTS = 20

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
    csrf: Headers  # the token's cookie and header, as a page hands them out
    staff: Headers  # a staff user's session cookie


@pytest.fixture
async def site(clean_tables: None) -> AsyncIterator[Site]:
    app = await build_app(
        environment="production", secret_key="k" * 48, allowed_hosts=("localhost",)
    )
    category = Category(name="Tools", slug="tools")
    await category.save()
    await Product(name="Hammer", description="", price=10, stock=1, category=category.id).save()
    staff = await create_user("staff", "staff@example.com", PASSWORD, admin=True)
    async with app.lifespan():
        page = await call(app, "GET", "/webinars")
        token = CSRF_FIELD.search(page.body.decode())
        cookie = re.search(rb"site_csrf=[^;]+", dict(page.headers)[b"set-cookie"])
        assert token
        assert cookie
        session = await start_session(staff, get_settings())
        yield Site(
            app,
            csrf=[(b"cookie", cookie.group()), (b"x-site-csrf", token.group(1).encode())],
            staff=[(b"cookie", f"{SESSION_COOKIE}={session}".encode())],
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


def registration(number: int) -> bytes:
    return msgspec.json.encode(
        {"name": "Ada", "email": f"ada-{number}@example.com", "webinar_date": "2099-01-01"}
    )


# For each kind: the status it must answer, and its n-th request (method, URL, headers, body).
MakeRequest = Callable[[Site, int], tuple[str, str, Headers, bytes]]
REQUESTS_BY_KIND: dict[str, tuple[int, MakeRequest]] = {
    "JSON read": (200, lambda s, n: ("GET", "/api/products?category=tools", [], b"")),
    "HTML page": (200, lambda s, n: ("GET", "/products?category=tools", [], b"")),
    "page with a form": (200, lambda s, n: ("GET", "/webinars", [], b"")),
    "signed-in page": (200, lambda s, n: ("GET", "/account", s.staff, b"")),
    "probe": (200, lambda s, n: ("GET", "/healthz", [], b"")),
    "no such page": (404, lambda s, n: ("GET", "/no/such/page", [], b"")),
    "JSON write": (
        201,
        lambda s, n: (
            "POST",
            "/api/webinars/registrants",
            [*s.csrf, (b"content-type", b"application/json")],
            registration(n),
        ),
    ),
    "write without a CSRF token": (
        403,
        lambda s, n: ("POST", "/api/webinars/registrants", [], registration(n)),
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
