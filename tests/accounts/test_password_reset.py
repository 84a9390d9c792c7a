"""Password reset: the same answer for every address, a link that works once and for a while,
for its own account only, and an end to every session; requests limited per address and per
client, in the database. The site runs its jobs itself, so the e-mails really are sent (to the
memory backend)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import msgspec
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from bandstand.accounts.password_reset import SALT, make_token, read_token
from bandstand.accounts.users import verify_login
from bandstand.jobs.queue import active_queue
from bandstand.settings import get_settings
from bandstand.testing.accounts import CSRF_FIELD, PASSWORD, People, csrf_token, log_in
from bandstand.testing.apps import build_app, client_for
from tests.support.mail import link_in as mail_link_in
from tests.support.mail import sent

NEW_PASSWORD = "a brand new passphrase"
PLAIN = "plain@example.com"


@pytest.fixture
async def site(people: People) -> AsyncIterator[httpx.AsyncClient]:
    app = await build_app(jobs_in_process=True)
    async with client_for(app) as client:
        yield client


async def ask(client: httpx.AsyncClient, email: str) -> httpx.Response:
    token = await csrf_token(client, "/password-reset")
    return await client.post("/password-reset", data={"email": email, "_csrf_token": token})


async def link_in(outbox: list[EmailMessage], count: int = 1) -> str:
    return mail_link_in((await sent(outbox, count))[-1], "/password-reset/")


async def set_password(client: httpx.AsyncClient, path: str, password: str) -> httpx.Response:
    page = await client.get(path)
    token = CSRF_FIELD.search(page.text)
    data = {"new_password": password, "confirm_password": password}
    if token:
        data["_csrf_token"] = token.group(1)
    else:  # an invalid link shows no form: a token from another page
        data["_csrf_token"] = await csrf_token(client, "/password-reset")
    return await client.post(path, data=data)


def without_csrf(text: str) -> str:
    return CSRF_FIELD.sub("", re.sub(r'content="[^"]+"', "", text))


async def test_the_answer_is_the_same_for_an_unknown_address(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage]
) -> None:
    known = await ask(site, "plain@example.com")
    unknown = await ask(site, "nobody@example.com")

    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known.text).replace("plain@", "X@") == without_csrf(unknown.text).replace(
        "nobody@", "X@"
    )
    # Both queued the same job; only the one with an account sent anything.
    states = await active_queue().states(limit=2)
    assert [state.task for state in states] == ["bandstand.send_password_reset"] * 2
    await link_in(mail_outbox)
    assert mail_outbox[0]["To"] == "plain@example.com"


async def test_a_link_sets_a_new_password_once_and_ends_every_session(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    other_browser = httpx.AsyncClient(transport=site._transport, base_url=str(site.base_url))
    await log_in(other_browser, "plain")
    assert (await other_browser.get("/account")).status_code == 200

    await ask(site, "PLAIN@example.com")  # an address as typed, in any case
    path = await link_in(mail_outbox)
    assert "Choose a new password" in (await site.get(path)).text

    done = await set_password(site, path, NEW_PASSWORD)
    assert done.status_code == 303
    assert await verify_login("plain", NEW_PASSWORD) == people.plain
    assert await verify_login("plain", PASSWORD) is None
    # Logged out everywhere: the session from before the reset is gone.
    assert (await other_browser.get("/account")).status_code in {302, 303, 401}
    await other_browser.aclose()

    # Used: the link is dead, for a look and for another try.
    assert (await site.get(path)).status_code == 400
    again = await set_password(site, path, "yet another passphrase")
    assert again.status_code == 400
    assert await verify_login("plain", NEW_PASSWORD) == people.plain


async def test_a_link_dies_when_the_password_changes_another_way(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    await ask(site, "plain@example.com")
    path = await link_in(mail_outbox)
    await log_in(site, "plain")
    token = await csrf_token(site, "/account")
    await site.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "_csrf_token": token,
        },
    )
    assert (await site.get(path)).status_code == 400


async def test_a_link_dies_when_the_address_changes(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    await ask(site, PLAIN)
    path = await link_in(mail_outbox)
    assert (await site.get(path)).status_code == 200
    from piccolo.apps.user.tables import BaseUser

    await BaseUser.update({BaseUser.email: "moved@example.com"}).where(BaseUser.id == people.plain)
    assert (await site.get(path)).status_code == 400
    assert (await set_password(site, path, NEW_PASSWORD)).status_code == 400
    assert await verify_login("plain", PASSWORD) == people.plain


async def test_an_expired_tampered_or_foreign_token_is_refused(
    site: httpx.AsyncClient, people: People
) -> None:
    settings = get_settings()
    from piccolo.apps.user.tables import BaseUser

    row = await BaseUser.select(BaseUser.password).where(BaseUser.id == people.plain).first()
    assert row is not None
    token = make_token(people.plain, row["password"], PLAIN, settings)
    named = read_token(token, settings)
    assert named is not None

    class SignedTooLongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - settings.password_reset_minutes * 60 - 1

    old = URLSafeTimedSerializer(settings.secret_key, salt=SALT, signer=SignedTooLongAgo)
    expired = old.dumps(list(named))
    assert read_token(expired, msgspec.structs.replace(settings, password_reset_minutes=10**6))
    other_key = msgspec.structs.replace(settings, secret_key="another-site-key-" + "k" * 40)
    foreign = make_token(people.plain, row["password"], PLAIN, other_key)
    payload, _, signature = token.partition(".")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (expired, foreign, tampered, f"{payload}.x.{signature}", "x" * 500, "nope"):
        response = await site.get(f"/password-reset/{bad}")
        assert response.status_code == 400, bad
        assert "This link does not work" in response.text
    # Another account's token changes that account only: the id is signed.
    staff = await BaseUser.select(BaseUser.password).where(BaseUser.id == people.staff).first()
    assert staff is not None
    swapped = make_token(people.staff, row["password"], PLAIN, settings)  # staff's id, plain's
    assert (await site.get(f"/password-reset/{swapped}")).status_code == 400


async def test_fifty_requests_at_once_send_no_more_than_the_limit(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage]
) -> None:
    limit = get_settings().password_resets_per_address
    token = await csrf_token(site, "/password-reset")
    answers = await asyncio.gather(
        *(
            site.post("/password-reset", data={"email": "plain@example.com", "_csrf_token": token})
            for _ in range(50)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * limit + [429] * (50 - limit)
    await sent(mail_outbox, limit)
    # The address's limit holds for another client too; another address is still served there.
    transport = httpx.ASGITransport(app=site._transport.app, client=("203.0.113.9", 4000))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url=str(site.base_url)) as elsewhere:
        assert (await ask(elsewhere, "plain@example.com")).status_code == 429
        assert (await ask(elsewhere, "other@example.com")).status_code == 200


async def test_one_client_asking_about_many_addresses_is_limited(site: httpx.AsyncClient) -> None:
    limit = get_settings().password_resets_per_client
    answers = [(await ask(site, f"someone{n}@example.com")).status_code for n in range(limit + 2)]
    assert answers == [200] * limit + [429, 429]


async def test_a_bad_form_is_a_clear_400(site: httpx.AsyncClient) -> None:
    for email in ("", "not an address", "a@b" + "c" * 300, "a\0@b.c"):
        response = await ask(site, email)
        assert response.status_code == 400
        assert "Enter an e-mail address." in response.text
