"""Litestar guards: `requires_login`, `requires_staff` and `requires_superuser` (which also
want the second factor STAFF_REQUIRE_2FA asks of staff), `requires_group(name)`,
`requires_verified_email`, and `verified_email_paths(settings)`, which create_app puts on every
route for REQUIRE_VERIFIED_EMAIL_FOR.

Anonymous requests get 401 and authenticated ones without the right get 403; the exception
handlers in `bandstand/accounts/errors.py` turn a browser's 401 into a redirect to the login page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from bandstand.accounts.email_addresses import is_verified
from bandstand.accounts.sessions import SESSION_COOKIE, CurrentUser, session_user
from bandstand.accounts.users import is_in_group
from bandstand.settings import Settings


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    """The logged-in user of a request (401 without one): in a handler behind `requires_login`,
    the user it let through."""
    user = connection.scope.get("user")
    if not isinstance(user, CurrentUser):
        raise NotAuthorizedException("Log in to see this page.")
    return user


async def requires_login(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    current_user(connection)


class SecondFactorRequired(PermissionDeniedException):
    """A 403 that sends a browser to turn on two-factor sign-in (STAFF_REQUIRE_2FA)."""


STAFF_MUST_ENROL = "Staff must turn on two-factor sign-in to use this page."


async def requires_staff(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    user = current_user(connection)
    if not user.is_staff:
        raise PermissionDeniedException("Staff only.")
    if user.needs_second_factor:
        raise SecondFactorRequired(STAFF_MUST_ENROL)


async def requires_superuser(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    user = current_user(connection)
    if not user.superuser:
        raise PermissionDeniedException("Superusers only.")
    if user.needs_second_factor:
        raise SecondFactorRequired(STAFF_MUST_ENROL)


def requires_group(name: str) -> Guard:
    """Members of the group `name` (and superusers) only."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = current_user(connection)
        if not user.superuser and not await is_in_group(user.id, name):
            raise PermissionDeniedException(f"Members of the group {name!r} only.")

    return guard


class EmailNotVerified(PermissionDeniedException):
    """A 403 whose page offers to send the address's confirmation link again."""


async def requires_verified_email(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    user = current_user(connection)
    if not await is_verified(user.id, user.email):
        raise EmailNotVerified(
            "Confirm your e-mail address to use this page: open the link we sent to it."
        )


# Where an account gets and uses its links, and what needs no account: never behind the rule,
# or an unconfirmed account could not confirm. The admin checks its own logins.
ALWAYS_OPEN = (
    "/login",
    "/logout",
    "/signup",
    "/account",
    "/verify-email",
    "/password-reset",
    "/static",
    "/admin",
    "/healthz",
    "/readyz",
)


def _under(path: str, prefixes: Sequence[str]) -> bool:
    """`path` is one of `prefixes` (without their trailing /) or below one."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def verified_email_paths(settings: Settings) -> Guard:
    """Logged-in accounts with a confirmed address only, on REQUIRE_VERIFIED_EMAIL_FOR's paths
    and everything under each (`/chat` covers `/chat/7`, not `/chatter`)."""
    covered = tuple(path.rstrip("/") for path in settings.require_verified_email_for)

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], route: BaseRouteHandler
    ) -> None:
        path = connection.scope["path"]
        if not _under(path, covered) or _under(path, ALWAYS_OPEN):
            return
        if "user" not in connection.scope:  # a route that skips the session lookup
            token = connection.cookies.get(SESSION_COOKIE)
            connection.scope["user"] = await session_user(token, settings) if token else None
        await requires_verified_email(connection, route)

    return guard
