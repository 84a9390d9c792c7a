"""CSRF tokens that are not tokens: a valid one with one non-ASCII character more, in the form
field, the header or the cookie, is refused like a wrong one (403), on every write route of the
app, and nothing is written. Litestar 2.25's own check answered 500 (docs/security.md)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from bandstand.csrf import TOKEN_SHAPE
from bandstand.testing.accounts import People, csrf_token, log_in
from bandstand.testing.apps import project_app
from bandstand.testing.database import fingerprint
from bandstand.tokens import tokens_match, well_formed

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")
# A value each kind of path parameter matches (the router answers 404 before any check).
SAMPLE = {"uuid": "00000000-0000-4000-8000-000000000001"}
REFUSED = "CSRF token verification failed"


def site_writes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path) of every route that changes state and is checked for CSRF, any id in
    its path given as 1 (or a UUID): the check comes before the handler looks anything up."""
    return [
        (method, PARAMETER.sub(lambda found: SAMPLE.get(found[2] or "", "1"), route.path))
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in sorted(handler.http_methods & WRITES)
        if not handler.opt.get("exclude_from_csrf")
    ]


def test_every_write_is_found() -> None:
    writes = site_writes(project_app())
    assert ("POST", "/login") in writes
    assert ("POST", "/logout") in writes
    assert ("POST", "/account/password") in writes


@pytest.mark.parametrize(
    "extra",
    ["¿".encode(), "¿".encode("latin-1"), "\u202e".encode(), "😀".encode(), b"\xff\xfe"],
    ids=["utf8", "latin1", "rtl-override", "emoji", "invalid-utf8"],
)
async def test_a_token_with_a_non_ascii_character_more_is_refused_on_every_write(
    client: httpx.AsyncClient, people: People, extra: bytes
) -> None:
    await log_in(client, "boss")
    token = await csrf_token(client, "/account")
    session = client.cookies["id"]
    raw_bad = token.encode() + extra
    # Raw bytes, as a script would send them: httpx encodes text values itself.
    senders: dict[str, dict[str, Any]] = {
        "form field": {
            "content": b"_csrf_token=" + quote_from_bytes(raw_bad).encode(),
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
        "header": {"headers": {"x-site-csrf": raw_bad}},
        "cookie": {
            "headers": {
                "x-site-csrf": token,
                "cookie": b"id=" + session.encode() + b"; site_csrf=" + raw_bad,
            }
        },
    }
    before = await fingerprint()
    answers = {}
    for method, path in site_writes(project_app()):
        for where, request in senders.items():
            if where == "cookie":
                bare = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
                async with bare:
                    response = await bare.request(method, path, **request)
            else:
                response = await client.request(method, path, **request)
            answers[(method, path, where)] = (response.status_code, REFUSED in response.text)
    assert {answer for answer in answers.values()} == {(403, True)}, {
        key: answer for key, answer in answers.items() if answer != (403, True)
    }
    assert await fingerprint() == before


async def test_a_malformed_cookie_on_a_page_is_replaced_by_a_new_token(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set("site_csrf", "not-a-token")

    response = await client.get("/login")

    new = response.cookies.get("site_csrf")
    assert new is not None
    assert TOKEN_SHAPE.fullmatch(new)
    assert new in response.text  # the form carries the new token, not the malformed one
    assert "not-a-token" not in response.text


def test_tokens_match_compares_bytes_and_never_raises() -> None:
    assert tokens_match("abc", "abc")
    assert tokens_match(b"abc", "abc")
    assert not tokens_match("abc¿", "abc")
    assert not tokens_match("¿", "¿" * 2)
    assert not tokens_match("\udcff", "abc")
    assert not tokens_match(None, "abc")
    assert not tokens_match("a" * 2000, "a" * 2000)  # longer than any token: refused unread


def test_well_formed_takes_only_text_of_the_shape() -> None:
    shape = re.compile(r"[0-9a-f]{4}")
    assert well_formed("00af", shape) == "00af"
    for value in ("00af\n", "00aF", "00a¿", None, b"00af", ["00af"], "0" * 2000):
        assert well_formed(value, shape) is None, value
