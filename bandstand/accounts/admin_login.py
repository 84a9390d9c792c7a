"""Piccolo Admin's own login, held to the site's login throttle and to STAFF_REQUIRE_2FA.

The admin counts failed logins in process memory (piccolo_api's `InMemoryLimitProvider`, whose
interface is synchronous, so it can't ask the database): each instance behind a load balancer
would allow its own 20 tries. This wrapper counts the admin's failures with the site's, in the
database, per client and per account: a guess at /admin/public/login/ uses up the same
allowance as one at /login, on whichever instance. A login succeeded when the admin set a
session cookie: its HTML form answers a wrong password with 200.

The admin asks an account with a second factor for its code itself (through
`bandstand.accounts.two_factor.SiteAuthenticator`). Staff that STAFF_REQUIRE_2FA holds to a
second factor they have not set up are sent to the site's login, which leads them to set it
up: the admin has no way to.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from litestar.enums import ScopeType
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, HTTPRequestEvent, Message, Receive, Scope, Send

from bandstand.accounts import throttle
from bandstand.accounts.sessions import SESSION_COOKIE
from bandstand.accounts.two_factor import is_enrolled
from bandstand.accounts.users import find_user_id, is_staff, verify_login
from bandstand.audit.log import record
from bandstand.settings import Settings

LOGIN_PATH = "/public/login/"
# Far more than a username and password need: a larger body is not a login.
MAX_BODY_BYTES = 16 * 1024
# What the admin answers a right password on an account with a second factor, without a code.
CODE_REQUIRED = b"MFA code required"
MUST_ENROL = (
    "Staff must turn on two-factor sign-in first: log in at /login?next=/admin/ to set it up."
)


def is_admin_login(scope: Scope, root_path: str) -> bool:
    return (
        scope["type"] == ScopeType.HTTP
        and scope.get("method") == "POST"
        and scope["path"] == root_path + LOGIN_PATH
    )


async def throttled_login(
    admin: ASGIApp, settings: Settings, scope: Scope, receive: Receive, send: Send
) -> None:
    body = await _read_body(receive)
    if body is None:
        await _plain(scope, receive, send, 413, "Login failed: the request is too large.")
        return
    if not _is_text(body):
        # piccolo_api decodes it as JSON, and a body that is not UTF-8 was a 500.
        await _plain(scope, receive, send, 400, "Login failed: the request is not UTF-8 text.")
        return
    fields = _fields(body)
    username = _text(fields, "username").strip()
    address = scope.get("client")
    client = throttle.client_key(address[0] if address else "unknown")
    user_id = await find_user_id(username)
    account = throttle.account_key(username, user_id)
    if not await throttle.claim_attempt(client, account, settings):
        minutes = settings.login_throttle_minutes
        refusal = f"Too many failed logins. Try again in {minutes} minutes."
        await _plain(scope, receive, send, 429, refusal)
        return
    if (
        settings.staff_require_2fa
        and user_id is not None
        and await is_staff(user_id)
        and not await is_enrolled(user_id)
        and await verify_login(username, _text(fields, "password")) == user_id
    ):
        await throttle.refund(client, account)
        await _plain(scope, receive, send, 403, MUST_ENROL)
        return

    session_set, answer = False, b""

    async def replay() -> HTTPRequestEvent:
        return {"type": "http.request", "body": body, "more_body": False}

    async def watch(message: Message) -> None:
        nonlocal session_set, answer
        if message["type"] == "http.response.start":
            session_set = any(
                name.lower() == b"set-cookie" and _sets_session(value)
                for name, value in message.get("headers", [])
            )
        elif message["type"] == "http.response.body" and len(answer) < MAX_BODY_BYTES:
            answer += message.get("body", b"")
        await send(message)

    await admin(scope, replay, watch)
    if session_set:
        await throttle.login_succeeded(client, account)
        await record("login", scope=scope, actor_id=user_id, source="admin")
    elif CODE_REQUIRED in answer and not _text(fields, "mfa_code"):
        # The right password, and the code still to come: that attempt was no failure.
        await throttle.refund(client, account)
    else:
        await record("login.failed", scope=scope, actor_id=user_id, actor=username, source="admin")


def _sets_session(header: bytes) -> bool:
    """A Set-Cookie that hands out a session (not one that clears it)."""
    name, _, rest = header.partition(b"=")
    return name.strip() == SESSION_COOKIE.encode() and not rest.startswith(b";") and rest != b""


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _is_text(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _fields(body: bytes) -> dict[str, object]:
    """The login's fields as piccolo_api reads them: JSON, else a form."""
    try:
        fields = json.loads(body)
    except ValueError:
        try:
            fields = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        except UnicodeDecodeError:
            return {}
    return fields if isinstance(fields, dict) else {}


def _text(fields: dict[str, object], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


async def _plain(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    response = ASGIResponse(body=text, status_code=status, media_type="text/plain")
    await response(scope, receive, send)
