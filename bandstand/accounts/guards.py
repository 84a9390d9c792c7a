"""Litestar guards: `requires_login`, `requires_staff`, `requires_superuser`,
`requires_group(name)`.

Anonymous requests get 401 and authenticated ones without the right get 403; the exception
handlers in `bandstand/accounts/errors.py` turn a browser's 401 into a redirect to the login page.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from bandstand.accounts.sessions import CurrentUser
from bandstand.accounts.users import is_in_group


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


async def requires_staff(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    if not current_user(connection).is_staff:
        raise PermissionDeniedException("Staff only.")


async def requires_superuser(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    if not current_user(connection).superuser:
        raise PermissionDeniedException("Superusers only.")


def requires_group(name: str) -> Guard:
    """Members of the group `name` (and superusers) only."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = current_user(connection)
        if not user.superuser and not await is_in_group(user.id, name):
            raise PermissionDeniedException(f"Members of the group {name!r} only.")

    return guard
