"""Logins and sessions under attack: guesses sent all at once are held to the limit, and text
the database can't store (NUL) or a cookie that can't be a session never reaches it."""

import anyio
import httpx
import pytest
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.settings import get_settings
from bandstand.testing.accounts import PASSWORD, People, csrf_token, log_in
from bandstand.testing.apps import build_app, client_for

JSON = {"accept": "application/json"}


async def test_guesses_sent_at_once_are_held_to_the_limit(
    client: httpx.AsyncClient, people: People
) -> None:
    # The check and the count were two steps around a slow password hash: every guess that
    # arrived together passed the check before any was counted, so 30 were tried, not 5.
    limit = get_settings().login_failures_per_account
    token = await csrf_token(client)
    statuses: list[int] = []

    async def guess(number: int) -> None:
        response = await client.post(
            "/login",
            data={"username": "plain", "password": f"guess {number}", "_csrf_token": token},
        )
        statuses.append(response.status_code)

    async with anyio.create_task_group() as group:
        for number in range(30):
            group.start_soon(guess, number)

    assert sorted(statuses) == [400] * limit + [429] * (30 - limit)
    assert (await log_in(client, "plain")).status_code == 429


async def test_a_successful_login_gives_the_client_its_attempt_back(people: People) -> None:
    # Attempts are counted before the password is checked; a right one must not use up the
    # allowance of an address many people log in from.
    async with client_for(await build_app(login_failures_per_client=2)) as client:
        for _ in range(4):
            client.cookies.clear()
            assert (await log_in(client, "plain")).status_code == 303


@pytest.mark.parametrize("username", ["pla\0in", "\0", "plain@example.com\0"])
async def test_a_login_name_with_nul_is_just_wrong(
    client: httpx.AsyncClient, people: People, username: str
) -> None:
    response = await log_in(client, username, PASSWORD)
    assert response.status_code == 400
    assert "Invalid username or password." in response.text


@pytest.mark.parametrize("cookie", ["%00", "%00" + "A" * 42, "A" * 5000, "' OR '1'='1", "1"])
async def test_a_cookie_that_cannot_be_a_session_is_nobody(
    client: httpx.AsyncClient, people: People, cookie: str
) -> None:
    client.cookies.set("id", cookie)
    assert (await client.get("/account", headers=JSON)).status_code == 401
    assert "Log in" in (await client.get("/")).text


async def test_a_real_session_token_still_works(client: httpx.AsyncClient, people: People) -> None:
    await log_in(client, "plain")
    token = client.cookies["id"]
    assert await SessionsBase.exists().where(SessionsBase.token == token)
    assert (await client.get("/account", headers=JSON)).status_code == 200
