"""Two-factor sign-in: turning it on from /account, the code after the password on /login and in
Piccolo Admin's login, recovery codes, the database throttle, and STAFF_REQUIRE_2FA."""

import base64
import datetime
import re
from collections.abc import AsyncIterator

import anyio
import httpx
import pyotp
import pytest
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.sessions import SESSION_COOKIE
from bandstand.accounts.tables import LoginThrottle
from bandstand.accounts.two_factor import TotpSecret, encryption, is_enrolled
from bandstand.accounts.two_factor_routes import PENDING_COOKIE, PENDING_SECONDS
from bandstand.audit.tables import AuditEntry
from bandstand.settings import get_settings
from bandstand.testing.accounts import PASSWORD, People, csrf_token, log_in
from bandstand.testing.apps import build_app, client_for
from tests.accounts.test_admin import admin_login
from tests.support.cli import piccolo

HTML = {"accept": "text/html"}
SECRET = re.compile(r'<code id="secret">([A-Z2-7 ]+)</code>')
TOKEN = re.compile(r'name="token" value="([^"]+)"')
CODES = re.compile(r"<li><code>([a-z0-9]{6}-[a-z0-9]{6})</code></li>")
QR = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


class Enrolment:
    def __init__(self, secret: str, recovery_codes: list[str], confirmed_with: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.recovery_codes = recovery_codes
        # The code typed to confirm the set-up (spent), whatever period it is now.
        self.confirmed_with = confirmed_with

    def code(self, periods_ahead: int = 0) -> str:
        """The code of the current period or of one after it (each is accepted once)."""
        when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30 * periods_ahead)
        return self.totp.at(when)


async def actions(prefix: str) -> list[tuple[str, int | None]]:
    """The audit log's entries whose action starts with `prefix`: (action, who), in order."""
    rows = (
        await AuditEntry.select(AuditEntry.action, AuditEntry.actor_id)
        .where(AuditEntry.action.like(f"{prefix}%"))
        .order_by(AuditEntry.id)
    )
    return [(row["action"], row["actor_id"]) for row in rows]


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], page: str = "/account"
) -> httpx.Response:
    return await client.post(path, data={**data, "_csrf_token": await csrf_token(client, page)})


async def start_setup(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    return await post_form(client, "/account/two-factor/setup", {"current_password": password})


async def enrol(client: httpx.AsyncClient, username: str) -> Enrolment:
    """Log `username` in and turn on its second factor through the pages, as a person would;
    the code typed to confirm is the current period's."""
    await log_in(client, username)
    page = await start_setup(client)
    assert page.status_code == 200, page.text
    secret = SECRET.search(page.text)
    token = TOKEN.search(page.text)
    assert secret, page.text
    assert token, page.text
    totp = pyotp.TOTP(secret.group(1).replace(" ", ""))
    typed = totp.now()
    done = await post_form(
        client, "/account/two-factor/confirm", {"token": token.group(1), "code": typed}
    )
    assert done.status_code == 200, done.text
    codes = CODES.findall(done.text)
    await log_out(client)
    return Enrolment(totp.secret, codes, typed)


async def log_out(client: httpx.AsyncClient) -> None:
    await client.post("/logout", data={"_csrf_token": await csrf_token(client, "/account")})


async def logged_in_with_a_code(client: httpx.AsyncClient, username: str) -> Enrolment:
    """`username` with two-factor sign-in on, logged in with a code, as a person would."""
    enrolment = await enrol(client, username)
    await log_in(client, username)
    assert (await enter_code(client, enrolment.code(1))).status_code == 303
    return enrolment


async def enter_code(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await post_form(client, "/login/code", {"code": code}, page="/login")


async def test_turning_it_on_shows_a_qr_code_and_waits_for_a_right_code(
    client: httpx.AsyncClient, people: People
) -> None:
    await log_in(client, "plain")
    page = await start_setup(client)

    assert page.status_code == 200
    qr = QR.search(page.text)
    assert qr is not None
    assert base64.b64decode(qr.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    # Shown, not yet on: an abandoned set-up locks no one out.
    assert not await is_enrolled(people.plain)

    token = TOKEN.search(page.text)
    assert token is not None
    wrong = await post_form(
        client, "/account/two-factor/confirm", {"token": token.group(1), "code": "000000"}
    )
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.text
    assert not await is_enrolled(people.plain)

    secret = SECRET.search(page.text)
    assert secret is not None
    code = pyotp.TOTP(secret.group(1).replace(" ", "")).now()
    done = await post_form(
        client, "/account/two-factor/confirm", {"token": token.group(1), "code": code}
    )
    assert done.status_code == 200
    codes = CODES.findall(done.text)
    assert len(set(codes)) == 10
    assert await is_enrolled(people.plain)
    assert await actions("two_factor.") == [("two_factor.enable", people.plain)]
    # Kept encrypted and hashed: neither the secret nor a code is in the row as shown.
    row = await TotpSecret.select().where(TotpSecret.user_id == people.plain).first()
    assert row is not None
    stored = str(row)
    assert secret.group(1).replace(" ", "") not in stored
    assert not any(recovery in stored for recovery in codes)


async def test_turning_it_on_needs_the_password(client: httpx.AsyncClient, people: People) -> None:
    await log_in(client, "plain")
    page = await start_setup(client, "wrong password")
    assert page.status_code == 400
    assert "Your current password is not right." in page.text
    assert QR.search(page.text) is None


async def test_a_set_up_started_by_another_account_is_refused(
    client: httpx.AsyncClient, people: People
) -> None:
    await log_in(client, "plain")
    page = await start_setup(client)
    token, secret = TOKEN.search(page.text), SECRET.search(page.text)
    assert token
    assert secret
    await log_in(client, "member")

    taken = await post_form(
        client,
        "/account/two-factor/confirm",
        {"token": token.group(1), "code": pyotp.TOTP(secret.group(1).replace(" ", "")).now()},
    )

    assert taken.status_code == 400
    assert "That set-up has expired" in taken.text
    assert not await is_enrolled(people.member)
    assert not await is_enrolled(people.plain)


async def test_login_asks_for_the_code_before_any_session(
    client: httpx.AsyncClient, people: People
) -> None:
    enrolment = await enrol(client, "plain")
    await SessionsBase.delete(force=True)

    password = await log_in(client, "plain", next="/account")

    assert password.status_code == 303
    assert password.headers["location"] == "/login/code"
    assert SESSION_COOKIE not in password.cookies
    assert await SessionsBase.count() == 0
    pending = password.headers["set-cookie"]
    assert f"Max-Age={PENDING_SECONDS}" in pending
    assert "HttpOnly" in pending
    assert "Path=/login/code" in pending
    assert (await client.get("/account", headers=HTML)).status_code == 303

    answer = await enter_code(client, enrolment.code(1))

    assert answer.status_code == 303
    assert answer.headers["location"] == "/account"
    assert (await client.get("/account")).status_code == 200
    assert PENDING_COOKIE not in client.cookies


async def test_a_code_is_accepted_once_even_by_requests_at_once(
    client: httpx.AsyncClient, people: People
) -> None:
    enrolment = await enrol(client, "plain")
    # The code that confirmed the set-up is spent already (the current period's may be
    # another by now, on a slow machine).
    await log_in(client, "plain")
    assert (await enter_code(client, enrolment.confirmed_with)).status_code == 400

    code = enrolment.code(1)
    token = await csrf_token(client)
    statuses: list[int] = []

    async def attempt() -> None:
        response = await client.post("/login/code", data={"code": code, "_csrf_token": token})
        statuses.append(response.status_code)

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(attempt)

    assert sorted(statuses) == [303, 400, 400, 400]
    await log_out(client)
    await log_in(client, "plain")
    again = await enter_code(client, code)
    assert again.status_code == 400
    assert "was used already" in again.text


async def test_a_recovery_code_logs_in_once(client: httpx.AsyncClient, people: People) -> None:
    enrolment = await enrol(client, "plain")
    first, second = enrolment.recovery_codes[:2]

    await log_in(client, "plain")
    assert (await enter_code(client, first)).status_code == 303
    page = await client.get("/account/two-factor")
    assert "9 of your recovery codes are unused" in page.text

    await log_out(client)
    await log_in(client, "plain")
    assert (await enter_code(client, first)).status_code == 400
    # Typed as people type them: in capitals, without the dash.
    assert (await enter_code(client, second.replace("-", "").upper())).status_code == 303


async def test_code_guesses_are_throttled_and_the_password_does_not_reset_them(
    client: httpx.AsyncClient, people: People
) -> None:
    enrolment = await enrol(client, "plain")
    limit = get_settings().login_failures_per_account
    await log_in(client, "plain")
    for _ in range(limit - 2):
        assert (await enter_code(client, "000000")).status_code == 400
    # A right password in between gives the password's attempt back, not the codes'.
    assert (await log_in(client, "plain")).status_code == 303
    for _ in range(2):
        assert (await enter_code(client, "000000")).status_code == 400

    blocked = await enter_code(client, enrolment.code(1))

    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.text
    assert (await log_in(client, "plain")).status_code == 429
    assert await SessionsBase.count() == 0
    assert await actions("login.code_failed") == [("login.code_failed", people.plain)] * limit


async def test_a_pending_login_that_is_not_ours_is_refused(
    client: httpx.AsyncClient, people: People
) -> None:
    enrolment = await enrol(client, "plain")
    # The cookie a forger would make: the account's id, signed with another key.
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("not the key", salt="second-factor-login").dumps(
        [people.plain, "/"]
    )
    client.cookies.set(PENDING_COOKIE, str(forged), path="/login/code")

    assert (await client.get("/login/code")).headers["location"] == "/login"
    answer = await enter_code(client, enrolment.code(1))
    assert answer.status_code == 400
    assert "log in again" in answer.text
    assert await SessionsBase.count() == 0


async def test_turning_it_off_needs_the_password(client: httpx.AsyncClient, people: People) -> None:
    await logged_in_with_a_code(client, "plain")

    refused = await post_form(
        client, "/account/two-factor/disable", {"current_password": "wrong password"}
    )
    assert refused.status_code == 400
    assert await is_enrolled(people.plain)

    done = await post_form(client, "/account/two-factor/disable", {"current_password": PASSWORD})
    assert done.status_code == 200
    assert not await is_enrolled(people.plain)
    assert await actions("two_factor.") == [
        ("two_factor.enable", people.plain),
        ("two_factor.disable", people.plain),
    ]
    await log_out(client)
    assert (await log_in(client, "plain")).headers["location"] == "/"


async def test_new_recovery_codes_replace_the_old_ones(
    client: httpx.AsyncClient, people: People
) -> None:
    enrolment = await logged_in_with_a_code(client, "plain")

    page = await post_form(
        client, "/account/two-factor/recovery-codes", {"current_password": PASSWORD}
    )
    fresh = CODES.findall(page.text)

    assert len(fresh) == 10
    assert not set(fresh) & set(enrolment.recovery_codes)
    assert ("two_factor.recovery_codes", people.plain) in await actions("two_factor.")
    assert not await TotpSecret.authenticate(
        people.plain, enrolment.recovery_codes[0], encryption(get_settings())
    )
    assert await TotpSecret.authenticate(people.plain, fresh[0], encryption(get_settings()))


async def test_a_changed_secret_key_refuses_codes_without_an_error(
    client: httpx.AsyncClient, people: People
) -> None:
    enrolment = await enrol(client, "plain")
    other = encryption(get_settings().__class__(secret_key="another key entirely " * 3))

    assert not await TotpSecret.authenticate(people.plain, enrolment.code(1), other)


async def test_the_admins_login_asks_for_the_code_and_counts_it(
    client: httpx.AsyncClient, people: People
) -> None:
    enrolment = await enrol(client, "staff")
    await SessionsBase.delete(force=True)

    asked = await admin_login(client, "staff")

    assert asked.status_code == 401
    assert "MFA code required" in asked.text
    assert await SessionsBase.count() == 0
    # The right password is no failure: nothing is left counted against the account.
    failures = await LoginThrottle.select(LoginThrottle.failures).where(
        LoginThrottle.key == f"account:{people.staff}"
    )
    assert [row["failures"] for row in failures] in ([], [0])

    await client.get("/admin/")
    done = await client.post(
        "/admin/public/login/",
        json={"username": "staff", "password": PASSWORD, "mfa_code": enrolment.code(1)},
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
    )
    assert done.status_code == 200, done.text
    assert (await client.get("/admin/api/tables/")).status_code == 200
    logins = await AuditEntry.select(AuditEntry.source).where(AuditEntry.action == "login")
    assert {"source": "admin"} in logins


async def test_the_admins_html_login_failures_are_counted(
    client: httpx.AsyncClient, people: People
) -> None:
    # Its HTML form answers a wrong password with 200: counted as a failure all the same.
    limit = get_settings().login_failures_per_account
    await client.get("/admin/")
    for _ in range(limit):
        answer = await client.post(
            "/admin/public/login/",
            data={"username": "staff", "password": "wrong password", "format": "html"},
            headers={"X-CSRFToken": client.cookies["csrftoken"]},
        )
        assert answer.status_code == 200
        assert "incorrect" in answer.text

    assert (await admin_login(client, "staff")).status_code == 429


@pytest.fixture
async def strict_site(people: People) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(await build_app(staff_require_2fa=True)) as client:
        yield client


async def test_staff_must_set_it_up_before_any_staff_page(
    strict_site: httpx.AsyncClient, people: People
) -> None:
    client = strict_site
    assert (await log_in(client, "staff")).status_code == 303

    page = await client.get("/jobs", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"] == "/account/two-factor?next=%2Fjobs"
    api = await client.get("/jobs", headers={"accept": "application/json"})
    assert api.status_code == 403
    admin = await client.get("/admin/", headers=HTML)
    assert admin.status_code == 303
    assert admin.headers["location"] == "/account/two-factor?next=%2Fadmin%2F"
    assert (await client.get("/admin/api/tables/")).status_code == 403
    assert "Staff must turn on" in (await client.get("/account/two-factor")).text

    enrolment = await enrol(client, "staff")
    await log_in(client, "staff")
    await enter_code(client, enrolment.code(1))
    assert (await client.get("/jobs", headers=HTML)).status_code == 200
    assert (await client.get("/admin/api/tables/")).status_code == 200


async def test_the_admins_login_sends_unenrolled_staff_to_set_it_up(
    strict_site: httpx.AsyncClient, people: People
) -> None:
    wrong = await admin_login(strict_site, "staff", "wrong password")
    assert wrong.status_code == 401  # the admin's own answer: nothing told about the account

    right = await admin_login(strict_site, "staff")
    assert right.status_code == 403
    assert "/login?next=/admin/" in right.text
    assert await SessionsBase.count() == 0
    # Members are not staff: the rule is not theirs.
    assert (await admin_login(strict_site, "plain")).status_code == 200
    assert (await log_in(strict_site, "plain")).status_code == 303


async def test_reset2fa_turns_it_off_and_ends_the_sessions(
    client: httpx.AsyncClient, people: People
) -> None:
    await logged_in_with_a_code(client, "plain")

    done = await piccolo("project", "reset2fa", "plain")

    assert done.returncode == 0, done.stderr
    assert not await is_enrolled(people.plain)
    assert await SessionsBase.count() == 0
    reset = await AuditEntry.select().where(AuditEntry.action == "two_factor.reset").first()
    assert reset is not None
    assert (reset["source"], reset["target_table"]) == ("cli", "piccolo_user")
    assert reset["target_id"] == str(people.plain)
    assert reset["actor"].startswith("cli:")
    again = await piccolo("project", "reset2fa", "plain")
    assert again.returncode == 1
    assert b"has no second factor" in again.stderr
    nobody = await piccolo("project", "reset2fa", "nobody")
    assert b"no account is named 'nobody'" in nobody.stderr


async def test_turning_it_off_from_the_admins_own_page_is_audited(
    client: httpx.AsyncClient, people: People
) -> None:
    await logged_in_with_a_code(client, "staff")
    await client.get("/admin/")

    answer = await client.post(
        "/admin/api/mfa-setup/",
        data={"action": "revoke", "password": PASSWORD},
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
    )

    assert answer.status_code == 200, answer.text
    assert not await is_enrolled(people.staff)
    assert await actions("two_factor.disable") == [("two_factor.disable", people.staff)]


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
async def test_the_code_step_never_leads_off_the_site(
    client: httpx.AsyncClient, people: People, target: str
) -> None:
    enrolment = await enrol(client, "plain")
    await log_in(client, "plain", next=target)

    answer = await enter_code(client, enrolment.code(1))

    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
