import threading
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.sessions import SESSION_COOKIE
from bandstand.testing.accounts import PASSWORD, People, csrf_token, log_in
from bandstand.testing.plugin import TEST_HASH_ITERATIONS

HTML = {"accept": "text/html"}


async def test_login_sets_an_httponly_lax_session_cookie(
    client: httpx.AsyncClient, people: People
) -> None:
    response = await log_in(client, "plain")

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # development: plain http on localhost
    page = await client.get("/account")
    assert page.status_code == 200
    assert "plain@example.com" in page.text


async def test_login_accepts_the_email_address(client: httpx.AsyncClient, people: People) -> None:
    response = await log_in(client, "staff@example.com")
    assert response.status_code == 303
    assert "staff@example.com" in (await client.get("/account")).text


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("plain", "wrong password"),
        ("nobody", PASSWORD),
        ("gone", PASSWORD),  # inactive
        ("plain", "x" * 500),
        ("u" * 1000, PASSWORD),
    ],
)
async def test_bad_credentials_are_refused_without_a_session(
    client: httpx.AsyncClient, people: People, username: str, password: str
) -> None:
    response = await log_in(client, username, password)

    assert response.status_code == 400
    assert "Invalid username or password." in response.text
    assert SESSION_COOKIE not in response.cookies
    assert await SessionsBase.count() == 0


async def test_anonymous_browser_is_sent_to_login_with_next(client: httpx.AsyncClient) -> None:
    response = await client.get("/account?tab=1", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount%3Ftab%3D1"


async def test_anonymous_api_client_gets_401_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/account", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Log in to see this page."


@pytest.mark.parametrize(
    ("next_", "expected"),
    [
        ("/account", "/account"),
        ("/admin/?page=2", "/admin/?page=2"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("http:/evil.example", "/"),
    ],
)
async def test_next_never_leaves_the_site(
    client: httpx.AsyncClient, people: People, next_: str, expected: str
) -> None:
    response = await log_in(client, "plain", next=next_)
    assert response.status_code == 303
    assert response.headers["location"] == expected


async def test_every_login_gets_a_new_session_id(client: httpx.AsyncClient, people: People) -> None:
    await log_in(client, "plain")
    first = client.cookies[SESSION_COOKIE]
    await log_in(client, "plain")
    second = client.cookies[SESSION_COOKIE]

    assert first != second
    # The earlier session is gone, not merely forgotten by this browser.
    assert await SessionsBase.exists().where(SessionsBase.token == first) is False
    assert await SessionsBase.exists().where(SessionsBase.token == second) is True


async def test_logout_deletes_the_session_row(client: httpx.AsyncClient, people: People) -> None:
    await log_in(client, "plain")
    token = client.cookies[SESSION_COOKIE]
    assert await SessionsBase.count().where(SessionsBase.user_id == people.plain) == 1

    response = await client.post(
        "/logout", data={"_csrf_token": await csrf_token(client, "/account")}
    )

    assert response.status_code == 303
    assert await SessionsBase.count().where(SessionsBase.user_id == people.plain) == 0
    # Replaying the old cookie gets nowhere.
    client.cookies.set(SESSION_COOKIE, token)
    assert (await client.get("/account", headers=HTML)).status_code == 303


@pytest.mark.real_password_hashing
async def test_passwords_are_stored_with_the_production_rounds(people: People) -> None:
    """The suite's quick hashing stays in the tests that ask for it: a user made here is
    stored with Piccolo's 600,000 rounds."""
    stored = await BaseUser.select(BaseUser.password).where(BaseUser.id == people.plain).first()
    assert stored is not None
    assert stored["password"].startswith("pbkdf2_sha256$600000$")


async def test_passwords_are_quick_to_hash_in_other_tests(people: People) -> None:
    stored = await BaseUser.select(BaseUser.password).where(BaseUser.id == people.plain).first()
    assert stored is not None
    assert stored["password"].startswith(f"pbkdf2_sha256${TEST_HASH_ITERATIONS}$")


@pytest.mark.real_password_hashing
async def test_hashing_runs_off_the_event_loop(
    client: httpx.AsyncClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that arrives while a login is hashing is answered before the hash ends.

    The spy holds the hash open until the probe is answered. Off the loop, the probe is answered
    at once; on the loop, the spy's wait blocks the loop (the blocking-call detector raises
    there), so the probe cannot be answered before the hash ends.
    """
    finished: list[str] = []
    hashing = threading.Event()
    probe_answered = threading.Event()
    original = BaseUser.hash_password

    def spy(*args: Any) -> str:
        hashing.set()
        hashed = original(*args)
        probe_answered.wait(timeout=10)
        finished.append("hash")
        return hashed

    monkeypatch.setattr(BaseUser, "hash_password", staticmethod(spy))
    token = await csrf_token(client)

    async def login() -> None:
        await client.post(
            "/login", data={"username": "plain", "password": PASSWORD, "_csrf_token": token}
        )

    async def probe() -> None:
        await anyio.to_thread.run_sync(hashing.wait)  # set by the spy, in the hashing thread
        await client.get("/healthz")
        finished.append("healthz")
        probe_answered.set()

    async with anyio.create_task_group() as group:
        group.start_soon(login)
        group.start_soon(probe)

    assert finished == ["healthz", "hash"]
