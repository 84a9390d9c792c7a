"""Piccolo Admin's own login, held to the site's login throttle.

The admin counts failed logins in process memory (piccolo_api's `InMemoryLimitProvider`, whose
interface is synchronous, so it can't ask the database): each instance behind a load balancer
would allow its own 20 tries. This wrapper counts the admin's failures with the site's, in the
database, per client and per account: a guess at /admin/public/login/ uses up the same
allowance as one at /login, on whichever instance.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from litestar.enums import ScopeType
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, HTTPRequestEvent, Message, Receive, Scope, Send

from bandstand.accounts import throttle
from bandstand.accounts.users import find_user_id
from bandstand.settings import Settings

LOGIN_PATH = "/public/login/"
# Far more than a username and password need: a larger body is not a login.
MAX_BODY_BYTES = 16 * 1024


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
    username = _username(body)
    address = scope.get("client")
    client = throttle.client_key(address[0] if address else "unknown")
    account = throttle.account_key(username, await find_user_id(username))
    if not await throttle.claim_attempt(client, account, settings):
        minutes = settings.login_throttle_minutes
        refusal = f"Too many failed logins. Try again in {minutes} minutes."
        await _plain(scope, receive, send, 429, refusal)
        return

    status = 0

    async def replay() -> HTTPRequestEvent:
        return {"type": "http.request", "body": body, "more_body": False}

    async def watch(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    await admin(scope, replay, watch)
    if status < 400:
        await throttle.login_succeeded(client, account)


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


def _username(body: bytes) -> str:
    """The username as piccolo_api reads it: JSON, else a form; "" when there is none."""
    try:
        fields = json.loads(body)
    except ValueError:
        try:
            fields = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        except UnicodeDecodeError:
            return ""
    value = fields.get("username") if isinstance(fields, dict) else None
    return value.strip() if isinstance(value, str) else ""


async def _plain(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    response = ASGIResponse(body=text, status_code=status, media_type="text/plain")
    await response(scope, receive, send)
