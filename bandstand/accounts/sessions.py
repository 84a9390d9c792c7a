"""Database-backed sessions, shared with Piccolo Admin, and the middleware that reads them.

Sessions live in piccolo_api's `sessions` table and the browser holds the token in the cookie
`id` — the names Piccolo Admin uses — so one login serves the site and the admin, and every
app instance sees the same sessions.
"""

from __future__ import annotations

import datetime
import re
import secrets
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)
from litestar.response import Redirect, Response
from litestar.types import ASGIApp
from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts import api_tokens
from bandstand.accounts.two_factor import is_enrolled
from bandstand.settings import Settings

SESSION_COOKIE = "id"
# What `start_session` and Piccolo Admin's login hand out (`secrets.token_urlsafe(32)`): any
# other cookie is no session and never reaches the database, where a NUL in it (`id=%00`) made
# PostgreSQL fail the request.
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


class CurrentUser(msgspec.Struct, frozen=True):
    id: int
    username: str
    email: str
    admin: bool
    superuser: bool
    # Staff who must turn on two-factor sign-in (STAFF_REQUIRE_2FA) and have not: the staff
    # guards and the admin send them to do it.
    needs_second_factor: bool = False

    @property
    def is_staff(self) -> bool:
        return self.admin or self.superuser


def _now() -> datetime.datetime:
    # piccolo_api stores naive local timestamps; compare in the same terms.
    return datetime.datetime.now()


async def start_session(user_id: int, settings: Settings, replaces: str | None = None) -> str:
    """A new session (and token) for a login; the one it replaces, if any, ends."""
    if replaces:
        await end_session(replaces)
    now = _now()
    token = secrets.token_urlsafe(32)
    await SessionsBase.insert(
        SessionsBase(
            token=token,
            user_id=user_id,
            expiry_date=now + datetime.timedelta(minutes=settings.session_idle_minutes),
            max_expiry_date=now + datetime.timedelta(hours=settings.session_max_age_hours),
        )
    )
    return token


async def end_session(token: str) -> None:
    await SessionsBase.delete().where(SessionsBase.token == token)


async def end_other_sessions(user_id: int, keep: str) -> None:
    await SessionsBase.delete().where(
        (SessionsBase.user_id == user_id) & (SessionsBase.token != keep)
    )


async def session_user(token: str, settings: Settings) -> CurrentUser | None:
    """The active user of a live session; touches the idle expiry at most twice per period."""
    if not TOKEN.fullmatch(token):
        return None
    session = (
        await SessionsBase.select(
            SessionsBase.id,
            SessionsBase.user_id,
            SessionsBase.expiry_date,
            SessionsBase.max_expiry_date,
        )
        .where(SessionsBase.token == token)
        .first()
    )
    now = _now()
    if session is None or session["expiry_date"] <= now or session["max_expiry_date"] <= now:
        return None
    idle = datetime.timedelta(minutes=settings.session_idle_minutes)
    if session["expiry_date"] - now < idle / 2:
        # Writing on every request would turn each page view into a write.
        await SessionsBase.update({SessionsBase.expiry_date: now + idle}).where(
            SessionsBase.id == session["id"]
        )
    user = (
        await BaseUser.select(
            BaseUser.id, BaseUser.username, BaseUser.email, BaseUser.admin, BaseUser.superuser
        )
        .where((BaseUser.id == session["user_id"]) & (BaseUser.active == True))  # noqa: E712
        .first()
    )
    return None if user is None else await _current_user(user, settings)


async def _current_user(user: dict[str, Any], settings: Settings) -> CurrentUser:
    if settings.staff_require_2fa and (user["admin"] or user["superuser"]):
        user["needs_second_factor"] = not await is_enrolled(user["id"])
    return msgspec.convert(user, CurrentUser)


def set_session_cookie(
    response: Response[object], token: str, settings: Settings, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_hours * 3600 if max_age is None else max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
    )


def logged_in(token: str, target: str, settings: Settings) -> Redirect:
    """The answer to a successful login: the session's cookie, and on to `target`."""
    response = Redirect(target, status_code=303)
    set_session_cookie(response, token, settings)
    return response


def clear_session_cookie(response: Response[object], settings: Settings) -> None:
    # With the flags it was set with: a browser may refuse to let a cookie without `Secure`
    # replace one that has it.
    set_session_cookie(response, "", settings, max_age=0)


class SessionAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Puts the session's user (or None) on `request.user` for every request it covers; a
    request with an API token (bandstand/accounts/api_tokens.py) is the token's user, whatever
    its cookies say."""

    def __init__(self, app: ASGIApp, settings: Settings, exclude: list[str]) -> None:
        super().__init__(app, exclude=exclude)
        self.settings = settings

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        if (api_token := api_tokens.bearer(connection.headers.get("authorization"))) is not None:
            holder = await api_tokens.token_holder(api_token)
            if holder is None:
                raise NotAuthorizedException("The API token is not valid, or has expired.")
            values, auth = holder
            api_tokens.check_scope(connection.scope, auth)
            return AuthenticationResult(user=await _current_user(values, self.settings), auth=auth)
        token = connection.cookies.get(SESSION_COOKIE)
        user = await session_user(token, self.settings) if token else None
        return AuthenticationResult(user=user, auth=token if user else None)


def session_middleware(settings: Settings) -> DefineMiddleware:
    # The admin reads the same cookie itself; static files and probes need no user.
    return DefineMiddleware(
        SessionAuthenticationMiddleware,
        settings=settings,
        exclude=["^/admin", "^/static/", "^/healthz$", "^/readyz$"],
    )
