"""CSRF, brute force, session expiry, password changes, sign-up, production cookies."""

import datetime
from collections.abc import AsyncIterator
from typing import cast

import httpx
import pytest
from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.sessions import SESSION_COOKIE
from bandstand.accounts.tables import LoginThrottle
from bandstand.settings import get_settings
from bandstand.testing.accounts import PASSWORD, People, csrf_token, log_in
from bandstand.testing.apps import build_app, client_for

NEW_PASSWORD = "a new and better secret"
JSON = {"accept": "application/json"}


async def stored_password(user_id: int) -> str:
    row = await BaseUser.select(BaseUser.password).where(BaseUser.id == user_id).first()
    assert row is not None
    return str(row["password"])


@pytest.mark.parametrize("token", [None, "forged-token", "0" * 128])
async def test_password_change_without_a_valid_csrf_token_is_403_and_writes_nothing(
    client: httpx.AsyncClient, people: People, token: str | None
) -> None:
    await log_in(client, "plain")
    before = await stored_password(people.plain)
    form = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    if token is not None:
        form["_csrf_token"] = token

    response = await client.post("/account/password", data=form)

    assert response.status_code == 403
    assert await stored_password(people.plain) == before


async def test_login_without_a_csrf_token_is_403_and_starts_no_session(
    client: httpx.AsyncClient, people: People
) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"username": "plain", "password": PASSWORD})
    assert response.status_code == 403
    assert await SessionsBase.count() == 0


async def test_brute_force_on_one_account_is_throttled(
    client: httpx.AsyncClient, people: People
) -> None:
    limit = get_settings().login_failures_per_account
    # By username and by e-mail address alike: both name the same account.
    logins = ["plain", "plain@example.com"] * limit
    statuses = [(await log_in(client, login, "guess")).status_code for login in logins[:limit]]
    assert statuses == [400] * limit

    # Now even the right password is refused, for this account only.
    for login in ("plain", "plain@example.com"):
        blocked = await log_in(client, login)
        assert blocked.status_code == 429
        assert "Too many failed logins" in blocked.text
    assert (await log_in(client, "staff")).status_code == 303


async def test_brute_force_from_one_client_is_throttled(
    client: httpx.AsyncClient, people: People
) -> None:
    limit = get_settings().login_failures_per_client
    for attempt in range(limit):
        assert (await log_in(client, f"user{attempt}", "guess")).status_code == 400
    assert (await log_in(client, "plain")).status_code == 429


async def test_the_throttle_counts_expire_with_their_window(
    client: httpx.AsyncClient, people: People
) -> None:
    limit = get_settings().login_failures_per_account
    for _ in range(limit):
        assert (await log_in(client, "plain", "guess")).status_code == 400
    assert (await log_in(client, "plain")).status_code == 429  # blocked, right password or not
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    await LoginThrottle.update({LoginThrottle.window_started: long_ago}, force=True)
    assert (await log_in(client, "plain")).status_code == 303


@pytest.mark.parametrize("column", ["expiry_date", "max_expiry_date"])
async def test_expired_sessions_are_refused(
    client: httpx.AsyncClient, people: People, column: str
) -> None:
    await log_in(client, "plain")
    assert (await client.get("/account")).status_code == 200
    past = datetime.datetime.now() - datetime.timedelta(minutes=1)
    await SessionsBase.update({getattr(SessionsBase, column): past}, force=True)
    assert (await client.get("/account", headers=JSON)).status_code == 401


async def test_password_change_ends_other_sessions(
    client: httpx.AsyncClient, people: People
) -> None:
    transport = cast(httpx.ASGITransport, client._transport)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as other_browser:
        await log_in(other_browser, "plain")
        await log_in(client, "plain")

        response = await client.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
                "_csrf_token": await csrf_token(client, "/account"),
            },
        )

        assert response.status_code == 303
        assert (await client.get("/account")).status_code == 200
        assert (await other_browser.get("/account", headers=JSON)).status_code == 401
    assert await SessionsBase.count().where(SessionsBase.user_id == people.plain) == 1
    assert (await log_in(client, "plain", NEW_PASSWORD)).status_code == 303


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {
                "current_password": "wrong",
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
            "Your current password is not right.",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": "other",
            },
            "The new passwords do not match.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
            "The password is too short.",
        ),
    ],
)
async def test_bad_password_changes_say_why_and_write_nothing(
    client: httpx.AsyncClient, people: People, form: dict[str, str], error: str
) -> None:
    await log_in(client, "plain")
    before = await stored_password(people.plain)
    response = await client.post(
        "/account/password", data={**form, "_csrf_token": await csrf_token(client, "/account")}
    )
    assert response.status_code == 400
    assert error in response.text
    assert await stored_password(people.plain) == before


async def test_signup_is_off_by_default(client: httpx.AsyncClient) -> None:
    assert (await client.get("/signup")).status_code == 404


@pytest.fixture
async def signup_client(clean_tables: None) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(await build_app(signup_enabled=True)) as client:
        yield client


async def test_signup_creates_an_active_plain_user_and_logs_in(
    signup_client: httpx.AsyncClient,
) -> None:
    token = await csrf_token(signup_client, "/signup")
    response = await signup_client.post(
        "/signup",
        data={
            "username": "newbie",
            "email": "New@Example.com",
            "password": PASSWORD,
            "confirm_password": PASSWORD,
            "_csrf_token": token,
        },
    )
    assert response.status_code == 303
    row = (
        await BaseUser.select(BaseUser.email, BaseUser.active, BaseUser.admin)
        .where(BaseUser.username == "newbie")
        .first()
    )
    assert row == {"email": "new@example.com", "active": True, "admin": False}
    assert (await signup_client.get("/account")).status_code == 200


async def test_signup_refuses_a_taken_name_and_writes_nothing(
    signup_client: httpx.AsyncClient, people: People
) -> None:
    token = await csrf_token(signup_client, "/signup")
    response = await signup_client.post(
        "/signup",
        data={
            "username": "plain",
            "email": "other@example.com",
            "password": PASSWORD,
            "confirm_password": PASSWORD,
            "_csrf_token": token,
        },
    )
    assert response.status_code == 400
    assert "already registered" in response.text
    assert await BaseUser.count().where(BaseUser.email == "other@example.com") == 0


async def test_production_cookies_are_secure(people: People) -> None:
    app = await build_app(
        environment="production", secret_key="s" * 48, allowed_hosts=("localhost",)
    )
    async with client_for(app, base_url="https://localhost") as client:
        page = await client.get("/login")
        assert "Secure" in page.headers["set-cookie"]  # the CSRF cookie
        response = await log_in(client, "plain")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
