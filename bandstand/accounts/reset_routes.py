"""`/password-reset`: ask for a link by e-mail address, then set a new password from it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_429_TOO_MANY_REQUESTS

from bandstand.accounts import throttle
from bandstand.accounts.email_addresses import MAX_ADDRESS_LENGTH
from bandstand.accounts.password_reset import account_for, reset_password
from bandstand.accounts.sessions import end_other_sessions
from bandstand.accounts.tasks import send_password_reset
from bandstand.audit.log import record
from bandstand.settings import Settings

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class ResetRequestForm(msgspec.Struct):
    email: str = ""


class NewPasswordForm(msgspec.Struct):
    new_password: str = ""
    confirm_password: str = ""


def _request_page(
    *, email: str = "", error: str = "", sent: bool = False, status_code: int = 200
) -> Template:
    context = {"email": email, "error": error, "sent": sent}
    return Template("accounts/password_reset.html", context=context, status_code=status_code)


@get("/password-reset", include_in_schema=False)
async def reset_request_page() -> Template:
    return _request_page()


@post("/password-reset", include_in_schema=False)
async def request_reset(
    request: Request[Any, Any, Any],
    data: Annotated[ResetRequestForm, Form],
    settings: NamedDependency[Settings],
) -> Template:
    """The same answer, after the same work, whether or not an account has the address: the
    job that may send the link looks the account up."""
    email = data.email.strip()
    if "@" not in email or len(email) > MAX_ADDRESS_LENGTH or "\0" in email:
        return _request_page(
            email=email, error="Enter an e-mail address.", status_code=HTTP_400_BAD_REQUEST
        )
    client = throttle.client_key(request.client.host if request.client else "unknown")
    if not await throttle.claim_reset_request(client, email, settings):
        return _request_page(
            email=email,
            error=f"Too many requests. Try again in {settings.login_throttle_minutes} minutes.",
            status_code=HTTP_429_TOO_MANY_REQUESTS,
        )
    await send_password_reset.enqueue(email)
    return _request_page(email=email, sent=True)


def _new_password_page(token: str, *, error: str = "", status_code: int = 200) -> Template:
    context = {"token": token, "error": error, "valid": True}
    return Template(
        "accounts/password_reset_confirm.html", context=context, status_code=status_code
    )


def _invalid_link() -> Template:
    return Template(
        "accounts/password_reset_confirm.html",
        context={"valid": False},
        status_code=HTTP_400_BAD_REQUEST,
    )


@get("/password-reset/{token:str}", include_in_schema=False)
async def new_password_page(token: FromPath[str], settings: NamedDependency[Settings]) -> Template:
    if await account_for(token, settings) is None:
        return _invalid_link()
    return _new_password_page(token)


@post("/password-reset/{token:str}", include_in_schema=False)
async def set_new_password(
    request: Request[Any, Any, Any],
    token: FromPath[str],
    data: Annotated[NewPasswordForm, Form],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    if await account_for(token, settings) is None:
        return _invalid_link()
    if data.new_password != data.confirm_password:
        return _new_password_page(
            token, error="The new passwords do not match.", status_code=HTTP_400_BAD_REQUEST
        )
    try:
        user_id = await reset_password(token, data.new_password, settings)
    except ValueError as invalid:
        return _new_password_page(token, error=str(invalid), status_code=HTTP_400_BAD_REQUEST)
    if user_id is None:  # used by another request a moment ago
        return _invalid_link()
    # Whoever knew the old password is logged out everywhere.
    await end_other_sessions(user_id, keep="")
    await record("password.reset", scope=request.scope, actor_id=user_id)
    flash(request, "Your password is changed. Log in with the new one.", "success")
    return Redirect("/login", status_code=303)


ROUTES = [reset_request_page, request_reset, new_password_page, set_new_password]
