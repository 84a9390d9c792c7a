"""Log in, log out, the account page, password change and optional sign-up (whose address is
confirmed by a link, bandstand/accounts/email_routes.py)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromQuery
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_429_TOO_MANY_REQUESTS
from piccolo.apps.user.tables import BaseUser

from bandstand.accounts import (
    email_routes,
    oidc_routes,
    reset_routes,
    throttle,
    token_routes,
    two_factor_routes,
)
from bandstand.accounts.email_addresses import address_taken, normalized_address
from bandstand.accounts.guards import requires_login
from bandstand.accounts.pages import account_page
from bandstand.accounts.redirects import safe_next
from bandstand.accounts.schemas import LoginForm, PasswordChangeForm, SignupForm
from bandstand.accounts.sessions import (
    SESSION_COOKIE,
    CurrentUser,
    clear_session_cookie,
    end_other_sessions,
    end_session,
    logged_in,
    start_session,
)
from bandstand.accounts.tasks import send_email_confirmation
from bandstand.accounts.two_factor import is_enrolled
from bandstand.accounts.two_factor_routes import ask_for_code
from bandstand.accounts.users import (
    check_password,
    create_user,
    find_user_id,
    set_password,
    verify_login,
)
from bandstand.audit.log import record, record_request
from bandstand.database.errors import UNIQUE_VIOLATIONS
from bandstand.settings import Settings

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
UserRequest = Request[CurrentUser | None, str | None, Any]
USERNAME = re.compile(r"[\w.@+-]{1,100}")


@get("/login", include_in_schema=False)
async def login_page(next: FromQuery[str | None] = None) -> Template:
    return Template("accounts/login.html", context={"next": safe_next(next), "username": ""})


@post("/login", include_in_schema=False)
async def login(
    request: UserRequest, data: Annotated[LoginForm, Form], settings: NamedDependency[Settings]
) -> Template | Redirect:
    username = data.username.strip()
    client = throttle.client_key(request.client.host if request.client else "unknown")
    named = await find_user_id(username)
    account = throttle.account_key(username, named)

    def refuse(error: str, status_code: int) -> Template:
        context = {"next": safe_next(data.next), "username": username, "error": error}
        return Template("accounts/login.html", context=context, status_code=status_code)

    if not await throttle.claim_attempt(client, account, settings):
        return refuse(
            f"Too many failed logins. Try again in {settings.login_throttle_minutes} minutes.",
            HTTP_429_TOO_MANY_REQUESTS,
        )
    user_id = await verify_login(username, data.password)
    if user_id is None:
        await record("login.failed", scope=request.scope, actor_id=named, actor=username[:255])
        return refuse("Invalid username or password.", HTTP_400_BAD_REQUEST)
    if await is_enrolled(user_id):
        # The password's attempt is given back, but the account's failures stand until the
        # code is right too: knowing the password must not reset the count of code guesses.
        await throttle.refund(client, account)
        return ask_for_code(user_id, safe_next(data.next), settings)
    await throttle.login_succeeded(client, account)
    await record("login", scope=request.scope, actor_id=user_id)
    # A new token at every login: a session id planted before login is worthless after it.
    token = await start_session(user_id, settings, replaces=request.cookies.get(SESSION_COOKIE))
    return logged_in(token, safe_next(data.next), settings)


@post("/logout", include_in_schema=False)
async def logout(request: UserRequest, settings: NamedDependency[Settings]) -> Redirect:
    if token := request.cookies.get(SESSION_COOKIE):
        await end_session(token)
    if request.user is not None:
        await record_request(request, "logout")
    response = Redirect("/", status_code=303)
    clear_session_cookie(response, settings)
    return response


@get("/account", guards=[requires_login], include_in_schema=False)
async def account(request: UserRequest, changed: FromQuery[bool] = False) -> Template:
    assert request.user is not None
    message = "Your password was changed; your other sessions have ended." if changed else ""
    return await account_page(request.user, message=message)


@post("/account/password", guards=[requires_login], include_in_schema=False)
async def change_password(
    request: UserRequest, data: Annotated[PasswordChangeForm, Form]
) -> Template | Redirect:
    user = request.user
    assert user is not None
    assert request.auth is not None
    error = ""
    if data.new_password != data.confirm_password:
        error = "The new passwords do not match."
    elif not await check_password(user.id, data.current_password):
        error = "Your current password is not right."
    else:
        try:
            await set_password(user.id, data.new_password)
        except ValueError as invalid:
            error = str(invalid)
    if error:
        return await account_page(user, error=error, status_code=HTTP_400_BAD_REQUEST)
    await end_other_sessions(user.id, keep=request.auth)
    await record_request(request, "password.change")
    return Redirect("/account?changed=true", status_code=303)


@get("/signup", include_in_schema=False)
async def signup_page(settings: NamedDependency[Settings]) -> Template:
    if not settings.signup_enabled:
        raise NotFoundException()
    return Template("accounts/signup.html", context={"form": SignupForm()})


@post("/signup", include_in_schema=False)
async def signup(
    request: UserRequest, data: Annotated[SignupForm, Form], settings: NamedDependency[Settings]
) -> Template | Redirect:
    if not settings.signup_enabled:
        raise NotFoundException()
    username, email = data.username.strip(), normalized_address(data.email)
    error = ""
    if not USERNAME.fullmatch(username):
        error = "Choose a username of letters, digits and . @ + - _ (at most 100)."
    elif email is None:
        error = "Enter a valid e-mail address."
    elif data.password != data.confirm_password:
        error = "The passwords do not match."
    elif await BaseUser.exists().where(BaseUser.username == username) or await address_taken(email):
        error = "That username or e-mail address is already registered."
    else:
        try:
            user_id = await create_user(username, email, data.password)
        except ValueError as invalid:  # the password's length
            error = str(invalid)
        except UNIQUE_VIOLATIONS:  # registered by a concurrent request since the check
            error = "That username or e-mail address is already registered."
    if error:
        form = SignupForm(username=username, email=data.email.strip())
        context = {"form": form, "error": error}
        return Template("accounts/signup.html", context=context, status_code=HTTP_400_BAD_REQUEST)
    await record("signup", scope=request.scope, actor_id=user_id, actor=username)
    await send_email_confirmation.enqueue(user_id)
    flash(
        request, f"Welcome! To confirm your address, open the link we sent to {email}.", "success"
    )
    token = await start_session(user_id, settings, replaces=request.cookies.get(SESSION_COOKIE))
    return logged_in(token, "/", settings)


ROUTES = [
    login_page,
    login,
    logout,
    account,
    change_password,
    signup_page,
    signup,
    *reset_routes.ROUTES,
    *email_routes.ROUTES,
    *two_factor_routes.ROUTES,
    *token_routes.ROUTES,
    *oidc_routes.ROUTES,
]
