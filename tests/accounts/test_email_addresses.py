"""Confirmed addresses: sign-up sends a link, and until it is opened the account can log in but
not use REQUIRE_VERIFIED_EMAIL_FOR's paths; a resend is limited; an address change is confirmed
from the new address and the old one is told. Every link is refused when reused (where that
matters), expired, tampered with, of another kind, or another account's. The sample site runs
its jobs itself, so the e-mails really are sent (to the memory backend)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import msgspec
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.email_addresses import (
    CONFIRM_SALT,
    AddressChange,
    change_token,
    confirmation_token,
    is_verified,
    normalized_address,
)
from bandstand.accounts.password_reset import make_token
from bandstand.accounts.users import create_user, verify_login
from bandstand.jobs.queue import active_queue
from bandstand.settings import get_settings
from bandstand.testing.accounts import CSRF_FIELD, PASSWORD, People, csrf_token, log_in
from bandstand.testing.apps import client_for
from tests.support.mail import link_in, sent, text_of
from tests.support.sample import build_sample_app
from tests.support.smtp_server import PASSWORD as SMTP_PASSWORD
from tests.support.smtp_server import USERNAME as SMTP_USERNAME
from tests.support.smtp_server import SMTPServer, smtp_server
from tests.support.waiting import until

LISTED = ("/albums", "/api/albums")
DEAD = "This link does not work"


@pytest.fixture
async def site(people: People, test_tables: None) -> AsyncIterator[httpx.AsyncClient]:
    app = await build_sample_app(
        jobs_in_process=True, signup_enabled=True, require_verified_email_for=LISTED
    )
    async with client_for(app) as client:
        yield client


def browser_beside(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser on the same app: cookies of its own."""
    return httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None, page: str = ""
) -> httpx.Response:
    """Submit a form as a browser would: with the token of the page it is on."""
    token = CSRF_FIELD.search((await client.get(page or path)).text)
    csrf = token.group(1) if token else await csrf_token(client, "/login")
    return await client.post(path, data={**(data or {}), "_csrf_token": csrf})


async def sign_up(client: httpx.AsyncClient, username: str, email: str) -> httpx.Response:
    form = {"username": username, "email": email, "password": PASSWORD}
    return await post_form(client, "/signup", {**form, "confirm_password": PASSWORD})


async def ask_to_change(
    client: httpx.AsyncClient, new: str, password: str = PASSWORD
) -> httpx.Response:
    form = {"new_email": new, "current_password": password}
    return await post_form(client, "/account/email", form, page="/account")


async def email_of(user_id: int) -> str:
    row = await BaseUser.select(BaseUser.email).where(BaseUser.id == user_id).first()
    assert row is not None
    return str(row["email"])


async def test_a_new_account_logs_in_but_waits_for_its_link_on_the_listed_paths(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage]
) -> None:
    assert (await sign_up(site, "newbie", "New@Example.com")).status_code == 303
    user_id = (await BaseUser.select(BaseUser.id).where(BaseUser.username == "newbie"))[0]["id"]

    listed = await site.get("/albums", headers={"accept": "text/html"})
    assert listed.status_code == 403
    assert "Send the link again" in listed.text
    api = await site.get("/api/albums")
    assert api.status_code == 403
    assert "Confirm your e-mail address" in api.json()["detail"]
    assert (await site.get("/join")).status_code == 200  # not listed
    account = await site.get("/account")
    assert account.status_code == 200
    assert "not confirmed" in account.text

    (message,) = await sent(mail_outbox, 1)
    assert message["To"] == "new@example.com"
    path = link_in(message, "/verify-email/")
    # Opening the link asks first: a mail scanner that follows it confirms nothing.
    assert "Confirm <strong>new@example.com</strong>" in (await site.get(path)).text
    assert not await is_verified(user_id, "new@example.com")
    assert (await post_form(site, path)).status_code == 303

    assert await is_verified(user_id, "new@example.com")
    assert (await site.get("/albums")).status_code == 200
    assert (await site.get("/api/albums")).status_code == 200
    assert "(confirmed)" in (await site.get("/account")).text
    # Anonymous visitors of a listed path are asked to log in.
    async with browser_beside(site) as anonymous:
        assert (await anonymous.get("/albums", headers={"accept": "text/html"})).status_code == 303


@pytest.fixture
def mail_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SMTPServer]:
    """A real SMTP server on loopback, STARTTLS and a login, whose authority the site trusts."""
    with smtp_server(tmp_path, "starttls", login=True) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_cert))
        yield server


async def test_the_link_arrives_by_smtp_with_starttls_and_works(
    mail_server: SMTPServer, clean_tables: None, test_tables: None
) -> None:
    app = await build_sample_app(
        jobs_in_process=True,
        signup_enabled=True,
        require_verified_email_for=LISTED,
        email_backend="smtp",
        email_host="localhost",
        email_port=mail_server.port,
        email_use_tls=True,
        email_host_user=SMTP_USERNAME,
        email_host_password=SMTP_PASSWORD,
    )
    async with client_for(app) as site:
        assert (await sign_up(site, "newbie", "newbie@example.com")).status_code == 303

        async def arrived() -> bool:
            return bool(mail_server.received)

        await until(arrived, seconds=30)
        (delivered,) = mail_server.received
        assert delivered.recipients == ["newbie@example.com"]
        path = link_in(delivered.message, "/verify-email/")
        assert (await site.get("/albums")).status_code == 403
        assert (await post_form(site, path)).status_code == 303
        assert (await site.get("/albums")).status_code == 200


async def test_a_listed_path_covers_what_is_under_it_only(
    people: People, test_tables: None
) -> None:
    app = await build_sample_app(require_verified_email_for=("/alb", "/account", "/api/albums/"))
    async with client_for(app) as client:
        await log_in(client, "plain")
        assert (await client.get("/albums")).status_code == 200  # "/alb" is not "/albums"
        assert (await client.get("/api/albums")).status_code == 403  # a trailing / is the same
        assert (await client.get("/api/albums/1")).status_code == 403
        # The account's own pages stay open even if listed: it must be able to confirm.
        assert (await client.get("/account")).status_code == 200


async def test_a_resend_is_limited_and_sends_no_more_than_the_limit(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    await log_in(site, "plain")
    token = await csrf_token(site, "/account")
    answers = await asyncio.gather(
        *(site.post("/account/verify-email", data={"_csrf_token": token}) for _ in range(50))
    )
    limit = get_settings().email_links_per_account
    assert sorted(answer.status_code for answer in answers) == [303] * limit + [429] * (50 - limit)
    messages = await sent(mail_outbox, limit)
    assert {message["To"] for message in messages} == {"plain@example.com"}
    # Any of them confirms; once confirmed, a resend sends nothing.
    assert (await post_form(site, link_in(messages[0], "/verify-email/"))).status_code == 303
    assert await is_verified(people.plain, "plain@example.com")
    again = await site.post("/account/verify-email", data={"_csrf_token": token})
    assert again.status_code == 303
    await sent(mail_outbox, limit)


async def test_a_confirmation_link_is_refused_when_expired_tampered_foreign_or_stale(
    site: httpx.AsyncClient, people: People
) -> None:
    settings = get_settings()
    good = confirmation_token(people.plain, "plain@example.com", settings)

    class SignedTooLongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - settings.email_confirmation_hours * 3600 - 1

    expired = URLSafeTimedSerializer(
        settings.secret_key, salt=CONFIRM_SALT, signer=SignedTooLongAgo
    ).dumps([people.plain, "plain@example.com"])
    other_key = msgspec.structs.replace(settings, secret_key="another-site-key-" + "k" * 40)
    other_site = confirmation_token(people.plain, "plain@example.com", other_key)
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    # Links of the other kinds, for the same account.
    reset = make_token(people.plain, "hash", "plain@example.com", settings)
    change = change_token(
        AddressChange(people.plain, "plain@example.com", "x@example.com"), settings
    )
    for bad in (expired, other_site, tampered, reset, change, "x" * 2000, "nope"):
        page = await site.get(f"/verify-email/{bad}")
        assert page.status_code == 400, bad
        assert DEAD in page.text
        assert (await post_form(site, f"/verify-email/{bad}", page="/login")).status_code == 400
    assert not await is_verified(people.plain, "plain@example.com")

    # Another account's link, opened while logged in: refused, and neither is confirmed.
    await log_in(site, "member")
    foreign = await post_form(site, f"/verify-email/{good}", page="/account")
    assert foreign.status_code == 400
    assert "for another account" in foreign.text
    assert not await is_verified(people.plain, "plain@example.com")
    assert not await is_verified(people.member, "member@example.com")

    # The address changed another way (in the admin): the link for the old one is dead, and
    # the account is unconfirmed until a link to the new one is used.
    await BaseUser.update({BaseUser.email: "elsewhere@example.com"}).where(
        BaseUser.id == people.plain
    )
    async with browser_beside(site) as anonymous:
        assert (await anonymous.get(f"/verify-email/{good}")).status_code == 400


async def test_confirming_survives_a_change_of_case_but_not_of_address(
    people: People, test_tables: None
) -> None:
    settings = get_settings()
    app = await build_sample_app(require_verified_email_for=LISTED)
    async with client_for(app) as client:
        await log_in(client, "plain")
        assert (
            await post_form(
                client,
                f"/verify-email/{confirmation_token(people.plain, 'Plain@Example.COM', settings)}",
                page="/account",
            )
        ).status_code == 303
        assert (await client.get("/albums")).status_code == 200
        await BaseUser.update({BaseUser.email: "PLAIN@example.com"}).where(
            BaseUser.id == people.plain
        )
        assert (await client.get("/albums")).status_code == 200
        await BaseUser.update({BaseUser.email: "new@example.com"}).where(
            BaseUser.id == people.plain
        )
        assert (await client.get("/albums")).status_code == 403


async def test_an_address_change_is_confirmed_from_the_new_address_and_told_to_the_old(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    await log_in(site, "plain")
    asked = await ask_to_change(site, " Fresh@Example.com ")
    assert asked.status_code == 303
    (link_message,) = await sent(mail_outbox, 1)
    assert link_message["To"] == "fresh@example.com"
    path = link_in(link_message, "/account/email/")
    # Nothing changes until the link is used.
    assert await email_of(people.plain) == "plain@example.com"
    page = await site.get(path)
    assert "Make <strong>fresh@example.com</strong>" in page.text
    assert "in place of plain@example.com" in page.text

    # Opened in another browser, where no one is logged in: the link is the proof.
    async with browser_beside(site) as inbox:
        assert (await post_form(inbox, path)).status_code == 303
        assert (await inbox.get(path)).status_code == 400  # used: dead
        assert (await post_form(inbox, path, page="/login")).status_code == 400

    assert await email_of(people.plain) == "fresh@example.com"
    assert await is_verified(people.plain, "fresh@example.com")
    assert await verify_login("fresh@example.com", PASSWORD) == people.plain
    _, notice = await sent(mail_outbox, 2)
    assert notice["To"] == "plain@example.com"
    assert "is now fresh@example.com" in text_of(notice)
    assert "/account/email/" not in notice.as_string()  # the old address gets no link


async def test_an_older_change_link_dies_when_another_is_used(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    await log_in(site, "plain")
    await ask_to_change(site, "first@example.com")
    await ask_to_change(site, "second@example.com")
    # Sent by two jobs, in either order.
    by_address = {message["To"]: message for message in await sent(mail_outbox, 2)}
    first, second = by_address["first@example.com"], by_address["second@example.com"]
    assert (await post_form(site, link_in(second, "/account/email/"))).status_code == 303
    stale = await site.get(link_in(first, "/account/email/"))
    assert stale.status_code == 400
    assert await email_of(people.plain) == "second@example.com"
    assert (await sent(mail_outbox, 3))[-1]["To"] == "plain@example.com"  # the notice


async def test_one_change_link_used_ten_times_at_once_changes_and_tells_once(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    await log_in(site, "plain")
    await ask_to_change(site, "racer@example.com")
    path = link_in((await sent(mail_outbox, 1))[0], "/account/email/")
    token = await csrf_token(site, path)
    answers = await asyncio.gather(
        *(site.post(path, data={"_csrf_token": token}) for _ in range(10))
    )
    assert sorted(answer.status_code for answer in answers) == [303] + [400] * 9
    notices = (await sent(mail_outbox, 2))[1:]
    assert [notice["To"] for notice in notices] == ["plain@example.com"]


async def test_a_change_request_is_refused_with_a_reason_and_queues_nothing(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    await log_in(site, "plain")
    queued_before = await active_queue().states(limit=1000)
    refusals = {
        ("not-an-address", PASSWORD): (400, "Enter a valid e-mail address"),
        ("evil@example.com\r\nBcc: x@example.com", PASSWORD): (400, "Enter a valid e-mail"),
        ("PLAIN@example.com", PASSWORD): (400, "your address already"),
        ("fresh@example.com", "wrong password"): (400, "current password is not right"),
        ("Staff@Example.com", PASSWORD): (400, "already registered"),
    }
    for (new, password), (status, text) in refusals.items():
        answer = await ask_to_change(site, new, password)
        assert (answer.status_code, text in answer.text) == (status, True), (new, answer.text)
    assert await active_queue().states(limit=1000) == queued_before
    assert await email_of(people.plain) == "plain@example.com"
    # Each refusal after the address's checks counts against the account's links: once they
    # are used up, even the right request is refused, so the form is no way to guess the
    # password.
    for _ in range(get_settings().email_links_per_account - 2):
        wrong = await ask_to_change(site, "fresh@example.com", "another wrong one")
        assert wrong.status_code == 400
    limited = await ask_to_change(site, "fresh@example.com")
    assert limited.status_code == 429
    await sent(mail_outbox, 0)


async def test_an_address_taken_meanwhile_is_refused_at_confirmation(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    await log_in(site, "plain")
    await ask_to_change(site, "wanted@example.com")
    path = link_in((await sent(mail_outbox, 1))[0], "/account/email/")
    await create_user("quick", "Wanted@example.com", PASSWORD)
    refused = await post_form(site, path)
    assert refused.status_code == 400
    assert "already registered" in refused.text
    assert await email_of(people.plain) == "plain@example.com"
    await sent(mail_outbox, 1)  # and the old address is told nothing


async def test_a_change_link_for_another_account_changes_nothing(
    site: httpx.AsyncClient, people: People
) -> None:
    settings = get_settings()
    token = change_token(
        AddressChange(people.plain, "plain@example.com", "x@example.com"), settings
    )
    await log_in(site, "member")
    foreign = await post_form(site, f"/account/email/{token}", page="/account")
    assert foreign.status_code == 400
    assert "for another account" in foreign.text
    assert await email_of(people.plain) == "plain@example.com"
    assert await email_of(people.member) == "member@example.com"
    # A tampered one is no link at all.
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await site.get(f"/account/email/{tampered}")).status_code == 400


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (" Someone@Example.COM ", "someone@example.com"),
        ("a@b.co", "a@b.co"),
        ("no-at-sign.example.com", None),
        ("@example.com", None),
        ("someone@localhost", None),
        ("some one@example.com", None),
        ("someone@example.com\nBcc: x@example.com", None),
        ("someone\0@example.com", None),
        ("x" * 250 + "@example.com", None),
    ],
)
def test_addresses_are_normalized_or_refused(raw: str, kept: str | None) -> None:
    assert normalized_address(raw) == kept


async def test_a_hostile_address_is_escaped_on_the_link_page_and_in_the_mail(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    # A quoted local part may hold markup and still be an address. The site's forms refuse it,
    # but the admin can type anything.
    hostile = '"<script>alert(1)</script>"@example.com'
    await BaseUser.update({BaseUser.email: hostile}).where(BaseUser.id == people.plain)
    await log_in(site, "plain")
    assert (await post_form(site, "/account/verify-email", page="/account")).status_code == 303
    (message,) = await sent(mail_outbox, 1)
    html = message.get_body(("html",))
    assert html is not None
    assert "<script>" not in html.get_content()
    page = await site.get(link_in(message, "/verify-email/"))
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_an_address_that_is_none_fails_its_job_at_once(
    site: httpx.AsyncClient, mail_outbox: list[EmailMessage], people: People
) -> None:
    await BaseUser.update({BaseUser.email: "not an address"}).where(BaseUser.id == people.plain)
    earlier = {state.id for state in await active_queue().states(limit=1000)}
    await log_in(site, "plain")
    assert (await post_form(site, "/account/verify-email", page="/account")).status_code == 303
    await sent(mail_outbox, 0)
    (job,) = [state for state in await active_queue().states(limit=1000) if state.id not in earlier]
    # Failed on its first attempt: no retry can make an address of it.
    assert job.status == "failed"
    assert "PermanentFailure" in (job.error or "")
