"""What the site checks in a request before Piccolo Admin reads it: its session cookie and its
CSRF token, with the site's rules (bandstand/tokens.py).

piccolo_api looks the `id` cookie up in the database as it is: on PostgreSQL a NUL in it was a
500 for the admin, where the site treats any cookie not of a session's shape as no session. Its
CSRF check compares the cookie and the header as `str`; here they must both have the shape of
its tokens (a UUID) and match as bytes, before it runs its own check.
"""

from __future__ import annotations

import re

from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

from bandstand.accounts.sessions import SESSION_COOKIE, TOKEN
from bandstand.tokens import tokens_match, well_formed

CSRF_COOKIE = "csrftoken"  # piccolo_api's names, hard-coded in the admin's JavaScript
CSRF_HEADER = b"x-csrftoken"
CSRF_TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, raw, named as Piccolo Admin reads them (Starlette's parser): the
    last of a repeated name wins. Checking the first let `id=<a session>; id="\\000"` through,
    which Starlette unquotes to a NUL and piccolo_api looked up: a 500 on PostgreSQL."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                key, _, cookie = pair.strip().partition("=")
                found[key.strip()] = cookie.strip()
    return found


def drop_malformed_session(scope: Scope) -> None:
    """Take an `id` cookie that is no session token out of the request: the admin then sees an
    anonymous request, as the site does."""
    session = cookies(scope).get(SESSION_COOKIE)
    if session is None or well_formed(session, TOKEN):
        return
    kept = [
        f"{key}={value}" for key, value in cookies(scope).items() if key != SESSION_COOKIE and key
    ]
    headers = [(name, value) for name, value in scope["headers"] if name != b"cookie"]
    if kept:
        headers.append((b"cookie", "; ".join(kept).encode("latin-1")))
    scope["headers"] = headers


def csrf_passes(scope: Scope) -> bool:
    """A write carries the admin's token in its header, equal to its cookie; reads need none."""
    if scope.get("method") in SAFE_METHODS:
        return True
    cookie = well_formed(cookies(scope).get(CSRF_COOKIE), CSRF_TOKEN)
    header = next((value for name, value in scope["headers"] if name == CSRF_HEADER), b"")
    given = well_formed(header.decode("latin-1"), CSRF_TOKEN)
    return cookie is not None and tokens_match(given, cookie)


async def csrf_refused(scope: Scope, receive: Receive, send: Send) -> None:
    text = "CSRF token verification failed"
    await ASGIResponse(body=text, status_code=403, media_type="text/plain")(scope, receive, send)
