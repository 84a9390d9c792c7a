"""Personal API tokens: made on `/account/tokens`, sent as `Authorization: Bearer bst_…`, each
named, scoped per feature (`catalog:read`, `catalog:write`), expiring, revocable.

A request with a token is its user's, for the token's scopes only (`check_scope`, in the
session middleware, bandstand/accounts/sessions.py). It needs no CSRF token, since a browser
never sends the header by itself, and is given no cookie. A token in a URL is refused (a URL
ends up in logs, histories and Referer headers), and the logs never hold one (`REDACTED`).
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ASGIApp, Receive, Scope, Send

from bandstand.accounts.tables import ApiToken
from bandstand.settings import Settings

PREFIX = "bst_"
# What `new_token` makes: the prefix and 32 random bytes, URL-safe.
TOKEN = re.compile(rf"{PREFIX}[A-Za-z0-9_-]{{43}}")
# Anything that looks like a token, wherever it is written: what logs and refusals hide.
ANYWHERE = re.compile(rf"{PREFIX}[A-Za-z0-9_-]{{8,}}")
REDACTED = f"{PREFIX}[redacted]"
SHOWN = len(PREFIX) + 8  # the characters that name a token on the pages
READ, WRITE = "read", "write"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A route's feature, set by create_app on each feature's routes: what a scope names.
FEATURE_OPT = "feature"
# Features no token may reach: accounts (a token never manages accounts, tokens included).
NOT_SCOPED = frozenset({"accounts"})
IN_URL = "Send an API token in the Authorization header, never in the URL."
SCHEME = "ApiToken"  # its name in the API schema
# Writing `last_used_at` on every request would make each API read a write.
TOUCH_EVERY = datetime.timedelta(minutes=1)


class TokenAuth(msgspec.Struct, frozen=True):
    """`request.auth` of a request made with a token."""

    id: int
    scopes: frozenset[str]


class NewToken(msgspec.Struct, frozen=True):
    id: int
    token: str  # shown once, never stored


def scopes_of(features: list[str]) -> list[str]:
    """Every scope a token may have on a site of `features`."""
    return [
        f"{feature}:{access}"
        for feature in features
        if feature not in NOT_SCOPED
        for access in (READ, WRITE)
    ]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def create_token(user_id: int, name: str, scopes: list[str], days: int) -> NewToken:
    token = PREFIX + secrets.token_urlsafe(32)
    now = _now()
    rows = await ApiToken.insert(
        ApiToken(
            user=user_id,
            name=name,
            prefix=token[:SHOWN],
            token_hash=digest(token),
            scopes=" ".join(sorted(set(scopes))),
            created_at=now,
            expires_at=now + datetime.timedelta(days=days),
        )
    )
    return NewToken(id=int(rows[0]["id"]), token=token)


async def revoke_token(token_id: int, user_id: int) -> bool:
    """Revoke one of the user's live tokens; whether there was one."""
    revoked = (
        await ApiToken.update({ApiToken.revoked_at: _now()})
        .where(
            (ApiToken.id == token_id) & (ApiToken.user == user_id) & ApiToken.revoked_at.is_null()
        )
        .returning(ApiToken.id)
    )
    return bool(revoked)


async def tokens_of(user_id: int) -> list[dict[str, Any]]:
    return (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.scopes,
            ApiToken.created_at,
            ApiToken.expires_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        )
        .where(ApiToken.user == user_id)
        .order_by(ApiToken.id, ascending=False)
    )


async def token_holder(token: str) -> tuple[dict[str, Any], TokenAuth] | None:
    """The active user a live token belongs to (their id, username, e-mail and flags), and the
    token's id and scopes; None for any other token."""
    if not TOKEN.fullmatch(token):
        return None
    now = _now()
    row = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.scopes,
            ApiToken.last_used_at,
            ApiToken.user.id.as_alias("user_id"),
            ApiToken.user.username.as_alias("username"),
            ApiToken.user.email.as_alias("email"),
            ApiToken.user.admin.as_alias("admin"),
            ApiToken.user.superuser.as_alias("superuser"),
        )
        .where(
            (ApiToken.token_hash == digest(token))
            & ApiToken.revoked_at.is_null()
            & (ApiToken.expires_at > now)
            & (ApiToken.user.active == True)  # noqa: E712
        )
        .first()
    )
    if row is None:
        return None
    if row["last_used_at"] is None or now - row["last_used_at"] > TOUCH_EVERY:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    user = {
        "id": row["user_id"],
        "username": row["username"],
        "email": row["email"],
        "admin": row["admin"],
        "superuser": row["superuser"],
    }
    return user, TokenAuth(id=row["id"], scopes=frozenset(row["scopes"].split()))


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header, if the header is one."""
    if authorization is None:
        return None
    scheme, _, credentials = authorization.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def in_url(query: str) -> bool:
    return ANYWHERE.search(query) is not None


class TokenRateLimit:
    """A token in a URL refused; and Litestar's rate limit, per token (by its digest: the
    store never holds a token), in each instance's memory, as Litestar's default store keeps
    it. Only requests with a token enter the rate limit: Litestar's middleware builds a request
    and reads its store for every request it sees, which made every page measurably slower
    (docs/performance.md)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        config = RateLimitConfig(
            rate_limit=("minute", settings.api_token_requests_per_minute),
            identifier_for_request=_token_digest,
        )
        self.limited = RateLimitMiddleware(app=app, config=config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        # Refused here, where every route passes: public reads skip the session lookup.
        query = scope["query_string"]
        if PREFIX.encode() in query and in_url(query.decode("latin-1")):
            raise ClientException(IN_URL)
        if _has_bearer(scope):
            await self.limited(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def rate_limit(settings: Settings) -> DefineMiddleware:
    return DefineMiddleware(TokenRateLimit, settings=settings)


def _has_bearer(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value[:7].lower() == b"bearer "
    return False


def _token_digest(request: Request[Any, Any, Any]) -> str:
    return digest(bearer(request.headers.get("authorization")) or "")


def openapi_security() -> tuple[Components, list[dict[str, list[str]]]]:
    """The token as the API schema's security scheme; every operation may be called with it
    or, where its route allows, without."""
    scheme = SecurityScheme(
        type="http",
        scheme="bearer",
        description="A personal API token from /account/tokens, scoped per feature.",
    )
    return Components(security_schemes={SCHEME: scheme}), [{}, {SCHEME: []}]


def check_scope(scope: Scope, auth: TokenAuth) -> None:
    """A token reads (GET, HEAD, OPTIONS) or writes only the features its scopes name: the
    route's feature is its `feature` opt, which create_app sets."""
    route = scope.get("route_handler")
    feature = route.opt.get(FEATURE_OPT) if route is not None else None
    access = READ if scope.get("method") in SAFE_METHODS else WRITE
    if f"{feature}:{access}" not in auth.scopes:
        raise PermissionDeniedException(f"This API token may not {access} {feature or 'this'}.")
