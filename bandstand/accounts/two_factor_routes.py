"""Two-factor sign-in's pages: the code asked after the password (`/login/code`), and turning it
on and off from the account (`/account/two-factor`).

Between the password and the code, the browser holds a signed, short-lived cookie naming the
account, not a session: nothing but `/login/code` reads it.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_429_TOO_MANY_REQUESTS

from bandstand.accounts import throttle
from bandstand.accounts.guards import current_user, requires_login
from bandstand.accounts.redirects import safe_next
from bandstand.accounts.schemas import CodeForm, PasswordForm, TwoFactorConfirmForm
from bandstand.accounts.sessions import SESSION_COOKIE, CurrentUser, logged_in, start_session
from bandstand.accounts.signed_links import sign, unsign
from bandstand.accounts.two_factor import (
    SETUP_PATH,
    TotpSecret,
    encryption,
    is_enrolled,
    matching_period,
    new_secret,
    qr_code_png,
    setup_uri,
    turn_off,
)
from bandstand.accounts.users import check_password
from bandstand.audit.log import record, record_request
from bandstand.settings import Settings

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
UserRequest = Request[CurrentUser | None, str | None, Any]

CODE_PATH = "/login/code"
PENDING_COOKIE = "second_factor"
PENDING_SALT = "second-factor-login"
PENDING_SECONDS = 5 * 60
SETUP_SALT = "second-factor-setup"
SETUP_SECONDS = 15 * 60
WRONG_PASSWORD = "Your current password is not right."  # noqa: S105 - a message


def ask_for_code(user_id: int, target: str, settings: Settings) -> Redirect:
    """The answer to a right password on an account with a second factor: on to the code."""
    response = Redirect(CODE_PATH, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        sign([user_id, target], settings, PENDING_SALT),
        max_age=PENDING_SECONDS,
        path=CODE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
    )
    return response


def _pending(request: UserRequest, settings: Settings) -> tuple[int, str] | None:
    """The account whose password was just given, and where the login goes next."""
    token = request.cookies.get(PENDING_COOKIE)
    value = unsign(token, settings, PENDING_SALT, PENDING_SECONDS) if token else None
    if not isinstance(value, list) or len(value) != 2:
        return None
    user_id, target = value
    if not isinstance(user_id, int) or not isinstance(target, str):
        return None
    return user_id, target


def _code_page(error: str = "", status_code: int = 200) -> Template:
    return Template("accounts/login_code.html", context={"error": error}, status_code=status_code)


@get(CODE_PATH, include_in_schema=False)
async def code_page(
    request: UserRequest, settings: NamedDependency[Settings]
) -> Template | Redirect:
    if _pending(request, settings) is None:
        return Redirect("/login", status_code=303)
    return _code_page()


@post(CODE_PATH, include_in_schema=False)
async def enter_code(
    request: UserRequest, data: Annotated[CodeForm, Form], settings: NamedDependency[Settings]
) -> Template | Redirect:
    pending = _pending(request, settings)
    if pending is None:
        context = {"next": "/", "username": "", "error": "That took too long: log in again."}
        return Template("accounts/login.html", context=context, status_code=HTTP_400_BAD_REQUEST)
    user_id, target = pending
    client = throttle.client_key(request.client.host if request.client else "unknown")
    account = throttle.account_key("", user_id)
    if not await throttle.claim_attempt(client, account, settings):
        minutes = settings.login_throttle_minutes
        refusal = f"Too many failed logins. Try again in {minutes} minutes."
        return _code_page(refusal, HTTP_429_TOO_MANY_REQUESTS)
    if not await TotpSecret.authenticate(user_id, data.code, encryption(settings)):
        await record("login.code_failed", scope=request.scope, actor_id=user_id)
        return _code_page("That code is not right, or was used already.", HTTP_400_BAD_REQUEST)
    await throttle.login_succeeded(client, account)
    await record("login", scope=request.scope, actor_id=user_id)
    token = await start_session(user_id, settings, replaces=request.cookies.get(SESSION_COOKIE))
    response = logged_in(token, safe_next(target), settings)
    response.delete_cookie(PENDING_COOKIE, path=CODE_PATH)
    return response


async def _status_page(
    user: CurrentUser,
    settings: Settings,
    *,
    next: str = "",
    message: str = "",
    error: str = "",
    status_code: int = 200,
) -> Template:
    codes_left = await TotpSecret.recovery_codes_left(user.id)
    enrolled = codes_left is not None
    context = {
        "enrolled": enrolled,
        "codes_left": codes_left,
        "required": settings.staff_require_2fa and user.is_staff and not enrolled,
        "next": next,
        "message": message,
        "error": error,
    }
    return Template("accounts/two_factor.html", context=context, status_code=status_code)


@get(SETUP_PATH, guards=[requires_login], include_in_schema=False)
async def two_factor_page(
    request: UserRequest, settings: NamedDependency[Settings], next: FromQuery[str | None] = None
) -> Template:
    return await _status_page(current_user(request), settings, next=safe_next(next, ""))


async def _setup_page(
    user: CurrentUser,
    secret: str,
    settings: Settings,
    site_name: str,
    *,
    next: str,
    error: str = "",
) -> Template:
    uri = setup_uri(secret, user.email or user.username, site_name)
    context = {
        "qr_code": await qr_code_png(uri),
        # In groups of four, as authenticator apps show a key typed by hand.
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "token": sign([user.id, secret], settings, SETUP_SALT),
        "next": next,
        "error": error,
    }
    status_code = HTTP_400_BAD_REQUEST if error else 200
    return Template("accounts/two_factor_setup.html", context=context, status_code=status_code)


@post(f"{SETUP_PATH}/setup", guards=[requires_login], include_in_schema=False)
async def start_setup(
    request: UserRequest,
    data: Annotated[PasswordForm, Form],
    settings: NamedDependency[Settings],
    site_name: NamedDependency[str],
) -> Template:
    user, next = current_user(request), safe_next(data.next, "")
    if await is_enrolled(user.id):
        return await _status_page(
            user, settings, next=next, error="Two-factor sign-in is on already.", status_code=400
        )
    if not await check_password(user.id, data.current_password):
        return await _status_page(user, settings, next=next, error=WRONG_PASSWORD, status_code=400)
    return await _setup_page(user, new_secret(), settings, site_name, next=next)


@post(f"{SETUP_PATH}/confirm", guards=[requires_login], include_in_schema=False)
async def confirm_setup(
    request: UserRequest,
    data: Annotated[TwoFactorConfirmForm, Form],
    settings: NamedDependency[Settings],
    site_name: NamedDependency[str],
) -> Template:
    user, next = current_user(request), safe_next(data.next, "")
    value = unsign(data.token, settings, SETUP_SALT, SETUP_SECONDS)
    if not isinstance(value, list) or value[:1] != [user.id] or len(value) != 2:
        return await _status_page(
            user,
            settings,
            next=next,
            error="That set-up has expired: start again.",
            status_code=400,
        )
    secret = str(value[1])
    if await is_enrolled(user.id):
        return await _status_page(
            user, settings, next=next, error="Two-factor sign-in is on already.", status_code=400
        )
    if matching_period(secret, "".join(data.code.split())) is None:
        error = "That code is not right: enter the one your app shows now."
        return await _setup_page(user, secret, settings, site_name, next=next, error=error)
    _, codes = await TotpSecret.create_new(user.id, encryption(settings), secret=secret)
    # The code just typed is spent: it cannot also log in.
    await TotpSecret.authenticate(user.id, data.code, encryption(settings))
    await record_request(request, "two_factor.enable")
    return _recovery_codes_page(codes, next)


def _recovery_codes_page(codes: list[str], next: str) -> Template:
    return Template(
        "accounts/recovery_codes.html", context={"codes": codes, "next": next or SETUP_PATH}
    )


@post(f"{SETUP_PATH}/recovery-codes", guards=[requires_login], include_in_schema=False)
async def new_recovery_codes(
    request: UserRequest, data: Annotated[PasswordForm, Form], settings: NamedDependency[Settings]
) -> Template:
    user = current_user(request)
    if not await check_password(user.id, data.current_password):
        return await _status_page(user, settings, error=WRONG_PASSWORD, status_code=400)
    codes = await TotpSecret.replace_recovery_codes(user.id)
    if codes is None:
        return await _status_page(
            user, settings, error="Two-factor sign-in is off.", status_code=400
        )
    await record_request(request, "two_factor.recovery_codes")
    return _recovery_codes_page(codes, "")


@post(f"{SETUP_PATH}/disable", guards=[requires_login], include_in_schema=False)
async def disable(
    request: UserRequest, data: Annotated[PasswordForm, Form], settings: NamedDependency[Settings]
) -> Template:
    user = current_user(request)
    if not await check_password(user.id, data.current_password):
        return await _status_page(user, settings, error=WRONG_PASSWORD, status_code=400)
    if not await turn_off(user.id):
        return await _status_page(
            user, settings, error="Two-factor sign-in is off.", status_code=400
        )
    await record_request(request, "two_factor.disable")
    return await _status_page(user, settings, message="Two-factor sign-in is off.")


ROUTES = [
    code_page,
    enter_code,
    two_factor_page,
    start_setup,
    confirm_setup,
    new_recovery_codes,
    disable,
]
