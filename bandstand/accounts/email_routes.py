"""Confirming addresses: the link sent at sign-up (`/verify-email/…`) and asked for again from
the account page, and an address change, confirmed from the new address (`/account/email/…`)
with the old one told. Each link's page asks before it acts: a mail scanner that opens every
link confirms nothing."""

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
from bandstand.accounts.email_addresses import (
    address_taken,
    address_to_confirm,
    change_address,
    change_to_confirm,
    is_verified,
    mark_verified,
    normalized_address,
)
from bandstand.accounts.guards import current_user, requires_login
from bandstand.accounts.pages import account_page
from bandstand.accounts.sessions import CurrentUser
from bandstand.accounts.tasks import (
    send_address_change,
    send_address_changed,
    send_email_confirmation,
)
from bandstand.accounts.users import check_password
from bandstand.database.errors import UNIQUE_VIOLATIONS
from bandstand.settings import Settings

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
UserRequest = Request[CurrentUser | None, str | None, Any]

DEAD_LINK = (
    "This link does not work: it has been used, it is too old, or the address has changed "
    "since it was sent."
)
FOREIGN_LINK = "This link is for another account. Log out to use it."
TAKEN = "That e-mail address is already registered to another account."


class AddressChangeForm(msgspec.Struct):
    new_email: str = ""
    current_password: str = ""


def _link_page(error: str = "", **context: Any) -> Template:
    return Template(
        "accounts/email_link.html",
        context={"error": error, **context},
        status_code=HTTP_400_BAD_REQUEST if error else 200,
    )


def _unusable(request: UserRequest, user_id: int | None) -> Template | None:
    """The page for a link that cannot act here: dead (no account), or another account's
    while someone is logged in, whom it would not be acting for."""
    if user_id is None:
        return _link_page(DEAD_LINK)
    if request.user is not None and request.user.id != user_id:
        return _link_page(FOREIGN_LINK)
    return None


def _done(request: UserRequest, message: str) -> Redirect:
    flash(request, message, "success")
    return Redirect("/account" if request.user else "/login", status_code=303)


@get("/verify-email/{token:str}", include_in_schema=False)
async def confirmation_page(
    request: UserRequest, token: FromPath[str], settings: NamedDependency[Settings]
) -> Template:
    named = await address_to_confirm(token, settings)
    if refused := _unusable(request, named[0] if named else None):
        return refused
    assert named is not None
    return _link_page(action=f"/verify-email/{token}", address=named[1])


@post("/verify-email/{token:str}", include_in_schema=False)
async def confirm_address(
    request: UserRequest, token: FromPath[str], settings: NamedDependency[Settings]
) -> Template | Redirect:
    named = await address_to_confirm(token, settings)
    if refused := _unusable(request, named[0] if named else None):
        return refused
    assert named is not None
    await mark_verified(*named)
    return _done(request, f"Your address {named[1]} is confirmed.")


@post("/account/verify-email", guards=[requires_login], include_in_schema=False)
async def resend_confirmation(
    request: UserRequest, settings: NamedDependency[Settings]
) -> Template | Redirect:
    user = current_user(request)
    if await is_verified(user.id, user.email):
        return _done(request, f"Your address {user.email} is confirmed already.")
    if not await throttle.claim_email_link(user.id, settings):
        return await account_page(
            user,
            error=f"Too many links asked for. Try again in {settings.login_throttle_minutes} "
            "minutes.",
            status_code=HTTP_429_TOO_MANY_REQUESTS,
        )
    await send_email_confirmation.enqueue(user.id)
    return _done(request, f"We sent a new link to {user.email}.")


@post("/account/email", guards=[requires_login], include_in_schema=False)
async def ask_for_address_change(
    request: UserRequest,
    data: Annotated[AddressChangeForm, Form],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    """Send a link to the new address; the address changes only when it is opened. The
    password is asked for, so that a session left open cannot move the account to another
    inbox (and from there reset its password)."""
    user = current_user(request)
    new = normalized_address(data.new_email)
    if new is None:
        return await account_page(
            user, error="Enter a valid e-mail address.", status_code=HTTP_400_BAD_REQUEST
        )
    error, status = "", HTTP_400_BAD_REQUEST
    if new == user.email.lower():
        error = "That is your address already."
    # Counted before the password is checked, so that this form is no way to guess it.
    elif not await throttle.claim_email_link(user.id, settings):
        error = f"Too many links asked for. Try again in {settings.login_throttle_minutes} minutes."
        status = HTTP_429_TOO_MANY_REQUESTS
    elif not await check_password(user.id, data.current_password):
        error = "Your current password is not right."
    elif await address_taken(new, by_other_than=user.id):
        error = TAKEN
    if error:
        return await account_page(user, error=error, status_code=status)
    await send_address_change.enqueue(user.id, new)
    return _done(
        request,
        f"We sent a link to {new}. Your address changes when you open it; until then it is "
        f"{user.email}.",
    )


@get("/account/email/{token:str}", include_in_schema=False)
async def address_change_page(
    request: UserRequest, token: FromPath[str], settings: NamedDependency[Settings]
) -> Template:
    change = await change_to_confirm(token, settings)
    if refused := _unusable(request, change.user_id if change else None):
        return refused
    assert change is not None
    return _link_page(action=f"/account/email/{token}", change=change)


@post("/account/email/{token:str}", include_in_schema=False)
async def confirm_address_change(
    request: UserRequest, token: FromPath[str], settings: NamedDependency[Settings]
) -> Template | Redirect:
    change = await change_to_confirm(token, settings)
    if refused := _unusable(request, change.user_id if change else None):
        return refused
    assert change is not None
    if await address_taken(change.new, by_other_than=change.user_id):
        return _link_page(TAKEN)
    try:
        changed = await change_address(change)
    except UNIQUE_VIOLATIONS:  # taken by another account since the check
        return _link_page(TAKEN)
    if not changed:  # used by another request a moment ago
        return _link_page(DEAD_LINK)
    await send_address_changed.enqueue(*change)
    return _done(request, f"Your address is now {change.new}.")


ROUTES = [
    confirmation_page,
    confirm_address,
    resend_confirmation,
    ask_for_address_change,
    address_change_page,
    confirm_address_change,
]
