"""STAFF_REQUIRE_2FA in Piccolo Admin, which checks its sessions itself: staff without a second
factor (a session from before the rule, or whose second factor was turned off since) are sent
to set one up, as the site's staff guards send them."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.response.base import ASGIResponse
from litestar.response.redirect import ASGIRedirectResponse
from litestar.types import Receive, Scope, Send

from bandstand.accounts.guards import STAFF_MUST_ENROL
from bandstand.accounts.sessions import SESSION_COOKIE, session_user
from bandstand.accounts.two_factor import SETUP_PATH
from bandstand.settings import Settings

# The admin's login and logout, which any visitor may reach.
OPEN = "/public/"


async def held_out(scope: Scope, settings: Settings, root_path: str) -> bool:
    """Whether this admin request comes from staff who must set up a second factor first."""
    if not settings.staff_require_2fa or scope["type"] != ScopeType.HTTP:
        return False
    if scope["path"].startswith(root_path + OPEN):
        return False
    token = ASGIConnection(scope).cookies.get(SESSION_COOKIE)
    user = await session_user(token, settings) if token else None
    return user is not None and user.needs_second_factor


async def send_to_setup(scope: Scope, receive: Receive, send: Send, root_path: str) -> None:
    """A page load goes to the set-up page, and back to the admin after; the admin's API calls
    get a 403 saying why."""
    if scope.get("method") == "GET" and b"text/html" in dict(scope["headers"]).get(b"accept", b""):
        target = f"{SETUP_PATH}?{urlencode({'next': root_path + '/'})}"
        await ASGIRedirectResponse(path=target, status_code=303)(scope, receive, send)
        return
    response = ASGIResponse(body=STAFF_MUST_ENROL, status_code=403, media_type="text/plain")
    await response(scope, receive, send)
