"""Sign-in with a provider (bandstand/accounts/oidc.py): the buttons' start, the provider's
answer, and linking and unlinking provider accounts from `/account`.

Between the start and the answer, the browser holds a signed cookie (10 minutes, only sent to
`/login/oidc/`) with the state, the nonce, the PKCE verifier, where to go next, and, when linking
from `/account`, the account to link to. The answer is taken once: the cookie is deleted with it.

A provider account logs in the user it is linked to. Not linked yet, it is linked on sign-in
only when the provider has verified its address and an account here has confirmed the same one
(else a stranger could register an address here and wait for its owner's first sign-in). From
`/account`, a logged-in user links any account of theirs.
"""

from __future__ import annotations

import datetime
import secrets
from typing import Annotated, Any, NamedTuple

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_502_BAD_GATEWAY
from piccolo.apps.user.tables import BaseUser
from piccolo.columns.combination import WhereRaw

from bandstand.accounts.email_addresses import address_taken, is_verified, mark_verified
from bandstand.accounts.guards import current_user, requires_login
from bandstand.accounts.oidc import Identity, Provider, SignInFailed, providers
from bandstand.accounts.pages import account_page
from bandstand.accounts.redirects import safe_next
from bandstand.accounts.schemas import NextForm, PasswordForm
from bandstand.accounts.sessions import SESSION_COOKIE, CurrentUser, logged_in, start_session
from bandstand.accounts.signed_links import sign, unsign
from bandstand.accounts.tables import ProviderAccount
from bandstand.accounts.two_factor import is_enrolled
from bandstand.accounts.two_factor_routes import ask_for_code
from bandstand.accounts.users import check_password, create_user
from bandstand.audit.log import record, record_request
from bandstand.database.errors import UNIQUE_VIOLATIONS
from bandstand.settings import Settings
from bandstand.tokens import tokens_match

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
UserRequest = Request[CurrentUser | None, str | None, Any]

FLOW_COOKIE = "sign_in_flow"
FLOW_PATH = "/login/oidc/"
FLOW_SALT = "provider-sign-in"
FLOW_SECONDS = 10 * 60
START_AGAIN = "That sign-in took too long, or did not start here: try again."


class Flow(NamedTuple):
    provider: str
    state: str
    nonce: str
    code_verifier: str
    next: str
    # The logged-in user who asked to link a provider account, or None for a sign-in.
    link_to: int | None


def _provider(name: str, settings: Settings) -> Provider:
    provider = providers(settings).get(name)
    if provider is None:
        raise NotFoundException()
    return provider


def callback_uri(provider: Provider, settings: Settings) -> str:
    return f"{settings.site_url.rstrip('/')}{FLOW_PATH}{provider.name}/callback"


def _login_page(error: str, status_code: int, next: str = "/") -> Template:
    context = {"next": next, "username": "", "error": error}
    return Template("accounts/login.html", context=context, status_code=status_code)


async def _start(
    provider: Provider, settings: Settings, next: str, link_to: int | None
) -> Template | Redirect:
    try:
        started = await provider.start(callback_uri(provider, settings))
    except SignInFailed as failure:
        return _login_page(str(failure), HTTP_502_BAD_GATEWAY, next)
    flow = Flow(provider.name, started.state, started.nonce, started.code_verifier, next, link_to)
    response = Redirect(started.url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        sign(list(flow), settings, FLOW_SALT),
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        httponly=True,
        # Lax: the provider sends the browser back with a top-level GET, which carries it.
        samesite="lax",
        secure=settings.is_production,
    )
    return response


@post(f"{FLOW_PATH}{{name:str}}", include_in_schema=False)
async def start_sign_in(
    name: FromPath[str], data: Annotated[NextForm, Form], settings: NamedDependency[Settings]
) -> Template | Redirect:
    return await _start(_provider(name, settings), settings, safe_next(data.next), None)


@post("/account/sign-in/link/{name:str}", guards=[requires_login], include_in_schema=False)
async def start_link(
    request: UserRequest, name: FromPath[str], settings: NamedDependency[Settings]
) -> Template | Redirect:
    user = current_user(request)
    return await _start(_provider(name, settings), settings, "/account", user.id)


def _flow(request: UserRequest, settings: Settings) -> Flow | None:
    token = request.cookies.get(FLOW_COOKIE)
    value = unsign(token, settings, FLOW_SALT, FLOW_SECONDS) if token else None
    match value:
        case [str(), str(), str(), str(), str(), int() | None]:
            return Flow(*value)
    return None


@get(f"{FLOW_PATH}{{name:str}}/callback", include_in_schema=False)
async def finish_sign_in(
    request: UserRequest,
    name: FromPath[str],
    settings: NamedDependency[Settings],
    code: FromQuery[str] = "",
    # `state` names the app's state in Litestar's handlers.
    returned_state: Annotated[str, QueryParameter(name="state")] = "",
    error: FromQuery[str] = "",
) -> Template | Redirect:
    provider = _provider(name, settings)
    flow = _flow(request, settings)
    response = await _finish(request, provider, flow, settings, code, returned_state, error)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response


async def _finish(
    request: UserRequest,
    provider: Provider,
    flow: Flow | None,
    settings: Settings,
    code: str,
    state: str,
    error: str,
) -> Template | Redirect:
    if flow is None or flow.provider != provider.name:
        return _login_page(START_AGAIN, HTTP_400_BAD_REQUEST)

    async def refuse(message: str, reason: str) -> Template:
        changes = {"reason": [None, reason]}
        target = ("sign_in_provider", provider.name)
        await record("login.failed", scope=request.scope, target=target, changes=changes)
        return _login_page(message, HTTP_400_BAD_REQUEST, flow.next)

    if not tokens_match(state, flow.state):
        return await refuse(START_AGAIN, "state")
    if error or not code:
        message = f"The sign-in with {provider.label} was cancelled or refused."
        return await refuse(message, f"provider: {error[:100]}")
    try:
        identity = await provider.identity(
            callback_uri(provider, settings), code, flow.code_verifier, flow.nonce
        )
    except SignInFailed as failure:
        return await refuse(str(failure), str(failure.__cause__ or failure)[:200])
    if flow.link_to is not None:
        return await _link(request, provider, identity, flow.link_to)
    linked = await _linked(identity)
    if linked is None:
        found = await _user_by_address(provider, identity, settings)
        if isinstance(found, str):
            return await refuse(found, "no account to link")
        try:
            linked = await _add_link(found, identity), found
        except UNIQUE_VIOLATIONS:  # the same sign-in, finished twice at once: it is linked
            linked = await _linked(identity)
            if linked is None:
                raise
        else:
            target = linked_row(linked[0])
            await record("sign_in.link", scope=request.scope, actor_id=found, target=target)
    account_id, user_id = linked
    return await _log_in(request, user_id, account_id, flow.next, settings)


def linked_row(account_id: int) -> tuple[str, int]:
    return (ProviderAccount._meta.tablename, account_id)


async def _linked(identity: Identity) -> tuple[int, int] | None:
    """The provider account and the user it is linked to; its address is brought up to date."""
    rows = await (
        ProviderAccount.update(
            {
                ProviderAccount.email: identity.email or "",
                ProviderAccount.last_login_at: datetime.datetime.now(datetime.UTC),
            }
        )
        .where(ProviderAccount.key == identity.key)
        .returning(ProviderAccount.id, ProviderAccount.user)
    )
    return (rows[0]["id"], rows[0]["user"]) if rows else None


async def _user_by_address(provider: Provider, identity: Identity, settings: Settings) -> int | str:
    """The user a new provider account belongs to, or why there is none."""
    link_yourself = (
        f"Log in with your password, then link your {provider.label} account from your "
        "account page."
    )
    if identity.email is None:
        return f"{provider.label} has not verified that account's e-mail address. {link_yourself}"
    rows = await BaseUser.select(BaseUser.id).where(WhereRaw("LOWER(email) = {}", identity.email))
    if rows:
        if await is_verified(rows[0]["id"], identity.email):
            return int(rows[0]["id"])
        return f"An account here uses {identity.email} but has not confirmed it. {link_yourself}"
    if not settings.signup_enabled:
        return f"No account here uses {identity.email}."
    return await _new_user(identity.email, identity.username) or START_AGAIN


async def _new_user(email: str, suggestion: str) -> int | None:
    """An account for a first sign-in, its address verified by the provider; None if another
    took the address meanwhile. It has no password anyone knows: one is set by a reset."""
    base = "".join(c for c in suggestion if c.isalnum() or c in "._-")[:80] or "user"
    for attempt in range(20):
        username = base if attempt == 0 else f"{base}-{secrets.randbelow(10**6)}"
        try:
            user_id = await create_user(username, email, secrets.token_urlsafe(32))
        except UNIQUE_VIOLATIONS:
            if await address_taken(email):
                return None
            continue
        await mark_verified(user_id, email)
        await record("signup", actor_id=user_id)
        return user_id
    raise RuntimeError("no free username after 20 tries")


async def _add_link(user_id: int, identity: Identity) -> int:
    now = datetime.datetime.now(datetime.UTC)
    rows = await ProviderAccount.insert(
        ProviderAccount(
            user=user_id,
            key=identity.key,
            provider=identity.provider,
            email=identity.email or "",
            linked_at=now,
            last_login_at=now,
        )
    )
    return int(rows[0]["id"])


async def _log_in(
    request: UserRequest, user_id: int, account_id: int, next: str, settings: Settings
) -> Template | Redirect:
    if not await BaseUser.exists().where((BaseUser.id == user_id) & BaseUser.active.eq(True)):
        return _login_page("That account is disabled.", HTTP_400_BAD_REQUEST, next)
    if await is_enrolled(user_id):
        return ask_for_code(user_id, safe_next(next), settings)
    await record("login", scope=request.scope, actor_id=user_id, target=linked_row(account_id))
    token = await start_session(user_id, settings, replaces=request.cookies.get(SESSION_COOKIE))
    return logged_in(token, safe_next(next), settings)


async def _link(
    request: UserRequest, provider: Provider, identity: Identity, user_id: int
) -> Template | Redirect:
    user = request.user
    if user is None or user.id != user_id:
        return _login_page(START_AGAIN, HTTP_400_BAD_REQUEST, "/account")
    linked = await ProviderAccount.select(ProviderAccount.user).where(
        ProviderAccount.key == identity.key
    )
    if linked and linked[0]["user"] != user_id:
        error = f"That {provider.label} account is linked to another account here."
        return await account_page(user, error=error, status_code=HTTP_400_BAD_REQUEST)
    if not linked:
        try:
            account_id = await _add_link(user_id, identity)
        except UNIQUE_VIOLATIONS:  # linked by a concurrent request since the check
            error = f"That {provider.label} account is linked to another account here."
            return await account_page(user, error=error, status_code=HTTP_400_BAD_REQUEST)
        await record_request(request, "sign_in.link", target=linked_row(account_id))
    flash(request, f"Your {provider.label} account signs you in now.", "success")
    return Redirect("/account", status_code=303)


@post("/account/sign-in/unlink/{account_id:int}", guards=[requires_login], include_in_schema=False)
async def unlink(
    request: UserRequest, account_id: FromPath[int], data: Annotated[PasswordForm, Form]
) -> Template | Redirect:
    user = request.user
    assert user is not None
    if not await check_password(user.id, data.current_password):
        error = "Your current password is not right."
        return await account_page(user, error=error, status_code=HTTP_400_BAD_REQUEST)
    removed = (
        await ProviderAccount.delete()
        .where((ProviderAccount.id == account_id) & (ProviderAccount.user == user.id))
        .returning(ProviderAccount.id)
    )
    if not removed:
        raise NotFoundException()
    await record_request(request, "sign_in.unlink", target=linked_row(account_id))
    flash(request, "That account no longer signs you in.", "success")
    return Redirect("/account", status_code=303)


ROUTES = [start_sign_in, start_link, finish_sign_in, unlink]
