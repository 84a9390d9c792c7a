"""API tokens: made on /account/tokens and shown once, kept hashed, sent as a bearer token
within their scopes with no CSRF token and no cookie back, refused when revoked, expired, of an
inactive user, malformed or in a URL, rate-limited each, never logged, in the API schema."""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import get, post
from litestar.params import JSONBody
from uvicorn.logging import AccessFormatter

from bandstand.accounts.tables import ApiToken
from bandstand.audit.tables import AuditEntry
from bandstand.features import Feature
from bandstand.testing.accounts import People, csrf_token, log_in
from bandstand.testing.apps import build_site, client_for

TOKEN = re.compile(r'<code id="token">(bst_[A-Za-z0-9_-]+)</code>')
PER_MINUTE = 5


@get("/api/notes", sync_to_thread=False)
def read_notes() -> dict[str, str]:
    return {"notes": "read"}


@post("/api/notes", sync_to_thread=False)
def write_note(data: JSONBody[dict[str, str]]) -> dict[str, str]:
    return data


# A public read, which skips the session lookup, as the demos' public API reads do.
@get("/api/notes/public", exclude_from_auth=True, sync_to_thread=False)
def read_public_notes() -> dict[str, str]:
    return {"notes": "public"}


# A feature of the test's own, so that the framework's tests need no demo.
NOTES = Feature("notes", routes=[read_notes, write_note, read_public_notes])


@pytest.fixture
async def site(people: People) -> AsyncIterator[httpx.AsyncClient]:
    app = await build_site([NOTES], "Tokens", api_token_requests_per_minute=PER_MINUTE)
    async with client_for(app) as client:
        yield client


async def make_token(
    client: httpx.AsyncClient, username: str, scopes: list[str], days: str = "30"
) -> httpx.Response:
    await log_in(client, username)
    token = await csrf_token(client, "/account/tokens")
    return await client.post(
        "/account/tokens",
        data={"name": "my script", "scopes": scopes, "days": days, "_csrf_token": token},
    )


async def new_token(client: httpx.AsyncClient, username: str, scopes: list[str]) -> str:
    """A token made through the page, and a client with no cookies left."""
    page = await make_token(client, username, scopes)
    found = TOKEN.search(page.text)
    assert found, page.text
    client.cookies.clear()
    return found.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_token_is_shown_once_and_kept_hashed(
    site: httpx.AsyncClient, people: People
) -> None:
    page = await make_token(site, "plain", ["notes:read", "notes:write"])
    assert page.status_code == 200
    found = TOKEN.search(page.text)
    assert found
    token = found.group(1)

    row = await ApiToken.select().where(ApiToken.user == people.plain).first()
    assert row is not None
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert row["prefix"] == token[:12]
    assert row["scopes"] == "notes:read notes:write"
    assert token not in str(row)
    listed = await site.get("/account/tokens")
    assert row["prefix"] in listed.text
    assert token not in listed.text
    made = await AuditEntry.select().where(AuditEntry.action == "token.create").first()
    assert made is not None
    assert token not in str(made)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "", "scopes": ["notes:read"], "days": "30"}, "Name the token"),
        ({"name": "x" * 101, "scopes": ["notes:read"], "days": "30"}, "Name the token"),
        ({"name": "s", "scopes": [], "days": "30"}, "Choose what the token may do"),
        ({"name": "s", "scopes": ["accounts:write"], "days": "30"}, "Choose what the token"),
        ({"name": "s", "scopes": ["notes:read"], "days": "0"}, "Choose how long"),
        ({"name": "s", "scopes": ["notes:read"], "days": "366"}, "Choose how long"),
        ({"name": "s", "scopes": ["notes:read"], "days": "ten"}, "Choose how long"),
    ],
)
async def test_a_bad_token_form_is_refused(
    site: httpx.AsyncClient, people: People, form: dict[str, Any], message: str
) -> None:
    await log_in(site, "plain")
    token = await csrf_token(site, "/account/tokens")

    answer = await site.post("/account/tokens", data={**form, "_csrf_token": token})

    assert answer.status_code == 400
    assert message in answer.text
    assert await ApiToken.count() == 0


async def test_a_token_reads_and_writes_within_its_scopes_without_csrf_or_cookies(
    site: httpx.AsyncClient, people: People
) -> None:
    reader = await new_token(site, "plain", ["notes:read"])
    writer = await new_token(site, "member", ["notes:read", "notes:write"])

    read = await site.get("/api/notes", headers=bearer(reader))
    assert read.status_code == 200
    assert read.json() == {"notes": "read"}
    assert "set-cookie" not in read.headers
    refused = await site.post("/api/notes", json={"a": "b"}, headers=bearer(reader))
    assert refused.status_code == 403
    assert "may not write notes" in refused.text
    written = await site.post("/api/notes", json={"a": "b"}, headers=bearer(writer))
    assert written.status_code == 201
    assert "set-cookie" not in written.headers
    # Without the token, the same write needs the CSRF token as ever.
    assert (await site.post("/api/notes", json={"a": "b"})).status_code == 403


async def test_a_token_reaches_no_other_feature(site: httpx.AsyncClient, people: People) -> None:
    token = await new_token(site, "boss", ["notes:read", "notes:write"])

    assert (await site.get("/jobs", headers=bearer(token))).status_code == 403
    assert (await site.get("/account", headers=bearer(token))).status_code == 403
    change = await site.post(
        "/account/password",
        data={"current_password": "x", "new_password": "y", "confirm_password": "y"},
        headers=bearer(token),
    )
    assert change.status_code == 403


async def test_revoked_expired_and_inactive_users_tokens_are_refused(
    site: httpx.AsyncClient, people: People
) -> None:
    revoked = await new_token(site, "plain", ["notes:read"])
    expired = await new_token(site, "member", ["notes:read"])
    inactive = await new_token(site, "staff", ["notes:read"])
    now = datetime.datetime.now(datetime.UTC)
    await ApiToken.update({ApiToken.revoked_at: now}).where(ApiToken.user == people.plain)
    await ApiToken.update({ApiToken.expires_at: now}).where(ApiToken.user == people.member)
    from piccolo.apps.user.tables import BaseUser

    await BaseUser.update({BaseUser.active: False}).where(BaseUser.id == people.staff)

    for token in (revoked, expired, inactive, "bst_" + "a" * 43, "bst_short", "not a token"):
        answer = await site.get("/api/notes", headers=bearer(token))
        assert answer.status_code == 401, token
        assert "set-cookie" not in answer.headers


async def test_revoking_from_the_account_page(site: httpx.AsyncClient, people: People) -> None:
    token = await new_token(site, "plain", ["notes:read"])
    other = await new_token(site, "member", ["notes:read"])
    await log_in(site, "plain")
    mine = await ApiToken.select(ApiToken.id).where(ApiToken.user == people.plain).first()
    theirs = await ApiToken.select(ApiToken.id).where(ApiToken.user == people.member).first()
    assert mine
    assert theirs
    form = {"_csrf_token": await csrf_token(site, "/account/tokens")}

    assert (await site.post(f"/account/tokens/{theirs['id']}/revoke", data=form)).is_redirect
    assert (await site.post(f"/account/tokens/{mine['id']}/revoke", data=form)).is_redirect

    site.cookies.clear()
    assert (await site.get("/api/notes", headers=bearer(token))).status_code == 401
    assert (await site.get("/api/notes", headers=bearer(other))).status_code == 200
    revoked = await AuditEntry.select(AuditEntry.target_id).where(
        AuditEntry.action == "token.revoke"
    )
    assert revoked == [{"target_id": str(mine["id"])}]


async def test_a_token_in_a_url_is_refused_and_never_logged(
    site: httpx.AsyncClient, people: People, caplog: pytest.LogCaptureFixture
) -> None:
    token = await new_token(site, "plain", ["notes:read"])

    for path in ("/api/notes", "/api/notes/public"):
        answer = await site.get(path, params={"access_token": token})
        assert answer.status_code == 400, path
        assert "never in the URL" in answer.text
    # What a server's access line for that request holds, formatted as uvicorn formats it.
    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            f"/api/notes?access_token={token}",
            "1.1",
            400,
        )
    (line,) = [record for record in caplog.records if record.name == "uvicorn.access"]
    formatted = AccessFormatter(fmt="%(request_line)s %(status_code)s").format(line)
    assert formatted == "GET /api/notes?access_token=bst_[redacted] HTTP/1.1 400 Bad Request"


async def test_each_token_has_its_own_rate_limit(site: httpx.AsyncClient, people: People) -> None:
    busy = await new_token(site, "plain", ["notes:read"])
    calm = await new_token(site, "member", ["notes:read"])

    statuses = [
        (await site.get("/api/notes", headers=bearer(busy))).status_code
        for _ in range(PER_MINUTE + 2)
    ]

    assert statuses == [200] * PER_MINUTE + [429, 429]
    assert (await site.get("/api/notes", headers=bearer(calm))).status_code == 200
    assert (await site.get("/api/notes")).status_code == 200  # no token, no token limit


async def test_the_api_schema_declares_the_token(site: httpx.AsyncClient) -> None:
    schema = (await site.get("/schema/openapi.json")).json()

    assert schema["components"]["securitySchemes"]["ApiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token from /account/tokens, scoped per feature.",
    }
    assert {"ApiToken": []} in schema["security"]


async def test_the_admin_never_shows_a_tokens_hash(site: httpx.AsyncClient, people: People) -> None:
    await new_token(site, "plain", ["notes:read"])
    row = await ApiToken.select(ApiToken.token_hash).first()
    assert row is not None
    await log_in(site, "boss")

    listed = await site.get("/admin/api/tables/api_token/")

    assert listed.status_code == 200
    assert len(listed.json()["rows"]) == 1
    assert row["token_hash"] not in listed.text


async def test_staff_revoke_a_token_in_the_admin(site: httpx.AsyncClient, people: People) -> None:
    token = await new_token(site, "plain", ["notes:read"])
    row = await ApiToken.select(ApiToken.id).first()
    assert row is not None
    await log_in(site, "boss")
    await site.get("/admin/")

    revoked = await site.patch(
        f"/admin/api/tables/api_token/{row['id']}/",
        json={"revoked_at": datetime.datetime.now(datetime.UTC).isoformat()},
        headers={"X-CSRFToken": site.cookies["csrftoken"]},
    )

    assert revoked.status_code == 200, revoked.text
    site.cookies.clear()
    assert (await site.get("/api/notes", headers=bearer(token))).status_code == 401
