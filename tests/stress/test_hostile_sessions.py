"""Sessions, redirects and password guessing under attack: a tampered, foreign, ended or
expired session cookie is nobody; `next=` never leads off the site, however it is spelled; and
the login throttle holds at volume, for passwords and second-factor codes guessed one after
another and all at once."""

from __future__ import annotations

import datetime
import re
import time
from collections import Counter as Tally
from html import unescape
from typing import Any, cast
from urllib.parse import quote, urlsplit

import anyio
import httpx
import pyotp
from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.sessions import end_session, start_session
from bandstand.accounts.two_factor import TotpSecret, encryption, new_secret
from bandstand.settings import get_settings
from bandstand.testing.accounts import PASSWORD, People, csrf_token, log_in
from tests.stress.figures import Figures
from tests.stress.hostile import HTML, Counter
from tests.stress.payloads import REDIRECTS

PART = "hostile input: sessions, redirects, guessing"
JSON = {"accept": "application/json"}
GUESSES = 50
NEXT_FIELD = re.compile(r'name="next" value="([^"]*)"')


def client_at(client: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    """A browser at another client address, on the same app."""
    app = cast(httpx.ASGITransport, client._transport).app
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


def stays_on_site(location: str) -> bool:
    """Whether a browser following `location` (from http://localhost/) stays on the site. As
    browsers do: leading spaces and controls go, tabs and newlines vanish, \\ is /."""
    cleaned = re.sub(r"[\t\n\r]", "", location.lstrip("\x00- ")).replace("\\", "/")
    parts = urlsplit(cleaned)
    if parts.scheme:
        return parts.scheme in ("http", "https") and parts.netloc == "localhost"
    return cleaned.startswith("/") and not cleaned.startswith("//")


def tampered(token: str) -> dict[str, str]:
    """The real token, altered. (Quoting or padding it is not altering it: cookie parsers
    strip both, and the token is still the secret.)"""

    def other(character: str) -> str:
        return "b" if character == "a" else "a"

    middle = len(token) // 2
    return {
        "first character changed": other(token[0]) + token[1:],
        "a middle character changed": token[:middle] + other(token[middle]) + token[middle + 1 :],
        "last character changed": token[:-1] + other(token[-1]),
        "cut short": token[:-4],
        "made longer": token + "A",
        "upper case": token.upper(),
        "lower case": token.lower(),
    }


async def test_tampered_foreign_ended_and_expired_sessions_are_nobody(
    client: httpx.AsyncClient, people: People, figures: Figures
) -> None:
    counter = Counter()
    counter.attach(client)
    settings = get_settings()
    await log_in(client, "boss")
    real = client.cookies["id"]
    ended = await start_session(people.staff, settings)
    await end_session(ended)
    past = datetime.datetime.now() - datetime.timedelta(minutes=1)
    idle = await start_session(people.staff, settings)
    await SessionsBase.update({SessionsBase.expiry_date: past}).where(SessionsBase.token == idle)
    old = await start_session(people.staff, settings)
    await SessionsBase.update({SessionsBase.max_expiry_date: past}).where(SessionsBase.token == old)
    deactivated = await start_session(people.inactive, settings)
    await BaseUser.update({BaseUser.active: False}).where(BaseUser.id == people.inactive)
    cookies = {
        **tampered(real),
        "the user's id": str(people.superuser),
        "the first user's id": "1",
        "a username": "boss",
        "SQL": "' OR '1'='1",
        "a NUL": "%00",
        "10,000 characters": "A" * 10_000,
        "empty": "",
        "a logged-out session's": ended,
        "an idle-expired session's": idle,
        "a session past its maximum age": old,
        "a deactivated user's session": deactivated,
    }
    transport = cast(httpx.ASGITransport, client._transport)
    problems: list[str] = []
    refused = 0
    for label, value in cookies.items():
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost", cookies={"id": value}
        ) as visitor:
            counter.attach(visitor)
            token = await csrf_token(visitor)
            answers = {
                "/account": (await visitor.get("/account", headers=JSON)).status_code,
                "/admin/api/tables/": (await visitor.get("/admin/api/tables/")).status_code,
                "POST /api/albums (staff)": (
                    await visitor.post("/api/albums", json={}, headers={"x-site-csrf": token})
                ).status_code,
            }
            home = await visitor.get("/")
            if set(answers.values()) == {401} and 'href="/login"' in home.text:
                refused += 1
            else:
                problems.append(f"a cookie with {label}: {answers}, home {home.status_code}")
    # The other cookies, garbled: still a page, never a 500.
    for name in ("site_flash", "site_csrf", "csrftoken"):
        for value in ("garbage", "A" * 4000, "%00", real):
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost", cookies={name: value}
            ) as visitor:
                counter.attach(visitor)
                for url in ("/", "/login", "/admin/"):
                    response = await visitor.get(url)
                    if response.status_code != 200:
                        problems.append(f"{name}={value[:20]!r}: {url} {response.status_code}")
                forged = await visitor.post(
                    "/login",
                    data={"username": "boss", "password": PASSWORD, "_csrf_token": value},
                    headers={"x-site-csrf": value},
                )
                if forged.status_code != 403:
                    problems.append(f"{name}={value[:20]!r} as its own token: {forged.status_code}")
    assert (await client.get("/account", headers=JSON)).status_code == 200  # the real one works
    figures.record(PART, "tampered or dead session cookies treated as anonymous", refused)
    figures.record(PART, "requests (sessions)", counter.requests)
    assert not problems, "\n".join(problems)


async def test_next_never_leads_off_the_site(
    client: httpx.AsyncClient, people: People, figures: Figures
) -> None:
    counter = Counter()
    counter.attach(client)
    targets = [*REDIRECTS, *(quote(target, safe="") for target in REDIRECTS)]
    problems: list[str] = []
    refused = 0
    for target in targets:
        page = await client.get("/login", params={"next": target})
        found = NEXT_FIELD.search(page.text)
        kept = unescape(found.group(1)) if found else "(no field)"
        if page.status_code != 200 or not stays_on_site(kept):
            problems.append(f"/login?next={target!r} keeps {kept!r}")
            continue
        refused += 1
    for target in REDIRECTS:  # logging in for real, with each
        client.cookies.clear()
        response = await log_in(client, "boss", next=target)
        location = response.headers.get("location", "")
        if response.status_code != 303 or not stays_on_site(location):
            problems.append(f"login with next={target!r}: {response.status_code} to {location!r}")
        else:
            refused += 1
    # Paths a browser may be sent to: any redirect the site answers with stays on it.
    client.cookies.clear()
    odd_paths = [
        b"//evil.example/",
        b"//evil.example/%2e%2e",
        b"/\\evil.example/",
        b"/admin//evil.example/",
        b"/admin/..//evil.example",
        b"/static//evil.example/",
        b"/static/..%2f..%2f",
        b"/fans?next=//evil.example",
        b"/account?next=https://evil.example/",
        b"/logout?next=//evil.example",
    ]
    for path in odd_paths:
        url = httpx.URL("http://localhost/").copy_with(raw_path=path)
        response = await client.get(url, headers=HTML)
        location = response.headers.get("location")
        if response.is_redirect and location and not stays_on_site(location):
            problems.append(f"{path!r} redirects to {location!r}")
        elif response.status_code >= 500:
            problems.append(f"{path!r}: {response.status_code}")
        else:
            refused += 1
    figures.record(PART, "redirect attempts kept on the site", refused, f"{len(targets)} spellings")
    figures.record(PART, "requests (redirects)", counter.requests)
    assert not problems, "\n".join(problems)


async def test_the_login_throttle_holds_at_volume(
    client: httpx.AsyncClient, people: People, figures: Figures
) -> None:
    settings = get_settings()
    per_account = settings.login_failures_per_account
    per_client = settings.login_failures_per_client

    async def guesses(
        browser: httpx.AsyncClient, logins: list[str], at_once: bool, path: str = "/login"
    ) -> Tally[int]:
        token = await csrf_token(browser)
        if path != "/login":
            await browser.get("/admin/")
        statuses: Tally[int] = Tally()

        async def guess(login: str, number: int) -> None:
            if path == "/login":
                response = await browser.post(
                    path,
                    data={"username": login, "password": f"guess {number}", "_csrf_token": token},
                )
            else:
                response = await browser.post(
                    path,
                    json={"username": login, "password": f"guess {number}"},
                    headers={"X-CSRFToken": browser.cookies["csrftoken"]},
                )
            statuses[response.status_code] += 1

        if at_once:
            async with anyio.create_task_group() as group:
                for number, login in enumerate(logins):
                    group.start_soon(guess, login, number)
        else:
            for number, login in enumerate(logins):
                await guess(login, number)
        return statuses

    results: dict[str, Any] = {}
    async with (
        client_at(client, "10.0.0.1") as one,
        client_at(client, "10.0.0.2") as two,
        client_at(client, "10.0.0.3") as three,
        client_at(client, "10.0.0.4") as four,
        client_at(client, "10.0.0.5") as five,
    ):
        # One account, guessed all at once and one by one: `per_account` guesses are tried.
        results["one account, at once"] = await guesses(one, ["plain"] * GUESSES, at_once=True)
        results["one account, one by one"] = await guesses(two, ["member"] * GUESSES, False)
        # The right password is refused too, from anywhere, until the window ends.
        for browser, login in ((one, "plain"), (four, "member")):
            assert (await log_in(browser, login)).status_code == 429
        # One client address, each guess at another account: `per_client` are tried.
        logins = [f"nobody{number}" for number in range(GUESSES)]
        results["one client, at once"] = await guesses(three, logins, at_once=True)
        assert (await log_in(three, "staff")).status_code == 429
        assert (await log_in(four, "staff")).status_code == 303  # another address is not
        # Piccolo Admin's login counts with the site's, one by one and at once.
        results["admin, one by one"] = await guesses(
            five, ["staff"] * GUESSES, False, "/admin/public/login/"
        )
        async with client_at(client, "10.0.0.6") as six:
            results["admin, at once"] = await guesses(
                six, ["boss"] * GUESSES, True, "/admin/public/login/"
            )
    assert results["one account, at once"] == {400: per_account, 429: GUESSES - per_account}
    assert results["one account, one by one"] == {400: per_account, 429: GUESSES - per_account}
    assert results["one client, at once"] == {400: per_client, 429: GUESSES - per_client}
    assert results["admin, one by one"] == {401: per_account, 429: GUESSES - per_account}
    assert results["admin, at once"] == {401: per_account, 429: GUESSES - per_account}
    for label, statuses in results.items():
        tried = statuses.get(400, 0) + statuses.get(401, 0)
        figures.record(PART, f"guesses tried of {GUESSES}: {label}", tried, f"{dict(statuses)}")


def wrong_codes(secret: str, count: int) -> list[str]:
    """`count` six-digit codes none of which the window around now accepts, nor the next."""
    totp = pyotp.TOTP(secret)
    now = int(time.time())
    near = {totp.at(now + offset * totp.interval) for offset in range(-2, 3)}
    return [code for code in (f"{n:06d}" for n in range(count + len(near))) if code not in near][
        :count
    ]


async def test_second_factor_codes_are_throttled_at_volume(
    client: httpx.AsyncClient, people: People, figures: Figures
) -> None:
    """A thief with the password guesses codes: at once, one by one, through the admin's login,
    and as recovery codes. `per_account` guesses are tried in each case, none gets in, and the
    right code is refused until the window ends."""
    settings = get_settings()
    per_account = settings.login_failures_per_account
    secrets = {}
    for user_id in (people.plain, people.member, people.staff, people.superuser):
        secrets[user_id] = new_secret()
        await TotpSecret.create_new(user_id, encryption(settings), secret=secrets[user_id])

    async def guesses(
        browser: httpx.AsyncClient, login: str, codes: list[str], at_once: bool, admin: bool
    ) -> Tally[int]:
        statuses: Tally[int] = Tally()
        if admin:
            await browser.get("/admin/")
        else:
            assert (await log_in(browser, login)).headers["location"] == "/login/code"
        token = await csrf_token(browser)

        async def guess(code: str) -> None:
            if admin:
                response = await browser.post(
                    "/admin/public/login/",
                    json={"username": login, "password": PASSWORD, "mfa_code": code},
                    headers={"X-CSRFToken": browser.cookies["csrftoken"]},
                )
            else:
                response = await browser.post(
                    "/login/code", data={"code": code, "_csrf_token": token}
                )
            statuses[response.status_code] += 1

        if at_once:
            async with anyio.create_task_group() as group:
                for code in codes:
                    group.start_soon(guess, code)
        else:
            for code in codes:
                await guess(code)
        return statuses

    recovery_shaped = [f"guess{number:01d}-abcdef" for number in range(GUESSES)]
    cases = {
        "codes at once": ("plain", people.plain, False, True, "10.0.1.1"),
        "codes one by one": ("member", people.member, False, False, "10.0.1.2"),
        "admin, codes at once": ("staff", people.staff, True, True, "10.0.1.3"),
        "recovery codes at once": ("boss", people.superuser, False, True, "10.0.1.4"),
    }
    results: dict[str, Tally[int]] = {}
    for label, (login, user_id, admin, at_once, address) in cases.items():
        codes = (
            recovery_shaped
            if label.startswith("recovery")
            else wrong_codes(secrets[user_id], GUESSES)
        )
        async with client_at(client, address) as browser:
            results[label] = await guesses(browser, login, codes, at_once, admin)
            right = pyotp.TOTP(secrets[user_id]).now()
            if admin:
                last = await browser.post(
                    "/admin/public/login/",
                    json={"username": login, "password": PASSWORD, "mfa_code": right},
                    headers={"X-CSRFToken": browser.cookies["csrftoken"]},
                )
            else:
                token = await csrf_token(browser)
                last = await browser.post("/login/code", data={"code": right, "_csrf_token": token})
            assert last.status_code == 429, (label, last.status_code)

    for label, statuses in results.items():
        wrong = 401 if label.startswith("admin") else 400
        assert statuses == {wrong: per_account, 429: GUESSES - per_account}, (label, statuses)
        figures.record(
            PART, f"codes tried of {GUESSES}: {label}", statuses[wrong], f"{dict(statuses)}"
        )
    assert await SessionsBase.count() == 0
