"""Every secret a request carries, sent malformed (a non-ASCII character more, invalid UTF-8, a
NUL, far too long): the session cookie on the site and in Piccolo Admin, the flash cookie, and
Piccolo Admin's CSRF token. None gets a 5xx: a session is no session, a token is refused."""

from __future__ import annotations

import httpx
import pytest
from piccolo.apps.user.tables import BaseUser

from bandstand.testing.accounts import People, log_in

MALFORMED = pytest.mark.parametrize(
    "extra",
    ["¿".encode(), b"\xbf", b"\xff\xfe", b"\x00", b"A" * 9000],
    ids=["utf8", "latin1", "invalid-utf8", "nul", "oversized"],
)
HTML = {b"accept": b"text/html"}


def bare(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client on the same app that sends only the headers it is given."""
    return httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))


@MALFORMED
async def test_a_malformed_session_cookie_is_no_session_on_the_site_and_in_the_admin(
    client: httpx.AsyncClient, people: People, extra: bytes
) -> None:
    await log_in(client, "boss")
    cookie = b"id=" + client.cookies["id"].encode() + extra
    async with bare(client) as other:
        page = await other.get("/account", headers={**HTML, b"cookie": cookie})
        api = await other.get("/admin/api/tables/", headers={b"cookie": cookie})
    assert page.status_code == 303  # to the login page, as for no session
    assert page.headers["location"].startswith("/login")
    assert api.status_code == 401


@MALFORMED
async def test_a_malformed_flash_cookie_is_ignored(client: httpx.AsyncClient, extra: bytes) -> None:
    async with bare(client) as other:
        response = await other.get(
            "/login", headers={b"cookie": b"site_flash=" + b"x" * 40 + extra}
        )
    assert response.status_code == 200


@MALFORMED
async def test_a_malformed_admin_csrf_token_is_refused(
    client: httpx.AsyncClient, people: People, extra: bytes
) -> None:
    await log_in(client, "boss")
    await client.get("/admin/")
    session, token = client.cookies["id"].encode(), client.cookies["csrftoken"].encode()
    cases = {
        "header": (b"id=" + session + b"; csrftoken=" + token, token + extra),
        "cookie": (b"id=" + session + b"; csrftoken=" + token + extra, token),
    }
    async with bare(client) as other:
        for where, (cookie, header) in cases.items():
            response = await other.post(
                "/admin/api/tables/piccolo_user/",
                json={"username": "eve", "password": "long enough password"},
                headers={b"cookie": cookie, b"x-csrftoken": header},
            )
            assert response.status_code == 403, (where, response.text)
    assert not await BaseUser.exists().where(BaseUser.username == "eve")


async def test_the_admin_csrf_token_is_checked_by_the_site_first(
    client: httpx.AsyncClient, people: People
) -> None:
    """A cookie and header that agree but are no token of the admin's: piccolo_api's own check
    (equal strings) would let it through; the site's refuses it."""
    await log_in(client, "boss")
    async with bare(client) as other:
        response = await other.post(
            "/admin/api/tables/group/",
            json={"name": "crew"},
            headers={"cookie": f"id={client.cookies['id']}; csrftoken=abc", "x-csrftoken": "abc"},
        )
    assert response.status_code == 403
    assert response.text == "CSRF token verification failed"
