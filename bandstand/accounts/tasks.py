"""The accounts' e-mails, each sent by a job: a password reset link, a link that confirms an
address (at sign-up, or asked for again), a link that confirms a new address, and the notice to
the old one. A request only queues the job: the reset request queues it whether or not an
account has the address, so that the answer and its timing tell nothing."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from piccolo.apps.user.tables import BaseUser
from piccolo.columns.combination import WhereRaw

from bandstand.accounts.email_addresses import (
    AddressChange,
    change_token,
    confirmation_token,
    is_verified,
)
from bandstand.accounts.password_reset import make_token
from bandstand.email.messages import EmailError
from bandstand.jobs import PermanentFailure, task, worker

if TYPE_CHECKING:
    from bandstand.email.mailer import Mailer
    from bandstand.jobs.worker import Worker


# One mailer per worker: making one reads and compiles every e-mail template.
_mailers: weakref.WeakKeyDictionary[Worker, Mailer] = weakref.WeakKeyDictionary()


async def _mailer() -> Mailer:
    current = worker.current()
    mailer = _mailers.get(current)
    if mailer is None:
        # Here, not at import: the mailer reads the features' templates, and the features
        # import this module.
        from bandstand.email.mailer import Mailer

        mailer = await anyio.to_thread.run_sync(
            lambda: Mailer(current.settings, current.site.features, site_name=current.site.name)
        )
        _mailers[current] = mailer
    return mailer


async def _send(template: str, context: Mapping[str, Any], to: str) -> None:
    mailer = await _mailer()
    try:
        message = mailer.message(template, context, to=[to])
    except EmailError as error:  # an address typed in the admin that is none: no retry helps
        raise PermanentFailure(str(error)) from None
    await mailer.send(message)


async def _account(user_id: int) -> dict[str, Any] | None:
    return await (
        BaseUser.select(BaseUser.username, BaseUser.email)
        .where((BaseUser.id == user_id) & BaseUser.active.eq(True))
        .first()
    )


@task(name="bandstand.send_password_reset", retries=3, backoff_seconds=30, timeout_seconds=60)
async def send_password_reset(address: str) -> bool:
    """E-mail a reset link to the active account with this address, if there is one; says
    whether there was."""
    settings = worker.current().settings
    row = (
        await BaseUser.select(BaseUser.id, BaseUser.username, BaseUser.email, BaseUser.password)
        .where(WhereRaw("LOWER(email) = {}", address.lower()) & BaseUser.active.eq(True))
        .first()
    )
    if row is None:
        return False
    token = make_token(row["id"], row["password"], row["email"], settings)
    context = {
        "username": row["username"],
        "path": f"/password-reset/{token}",
        "minutes": settings.password_reset_minutes,
    }
    await _send("password_reset", context, row["email"])
    return True


@task(name="bandstand.send_email_confirmation", retries=3, backoff_seconds=30, timeout_seconds=60)
async def send_email_confirmation(user_id: int) -> bool:
    """E-mail a link that confirms the account's address, unless it is confirmed already;
    says whether it sent one."""
    settings = worker.current().settings
    account = await _account(user_id)
    if account is None or await is_verified(user_id, account["email"]):
        return False
    context = {
        "username": account["username"],
        "path": f"/verify-email/{confirmation_token(user_id, account['email'], settings)}",
        "hours": settings.email_confirmation_hours,
    }
    await _send("email_confirmation", context, account["email"])
    return True


@task(name="bandstand.send_address_change", retries=3, backoff_seconds=30, timeout_seconds=60)
async def send_address_change(user_id: int, new_address: str) -> bool:
    """E-mail the new address a link that makes it the account's; says whether it sent one."""
    settings = worker.current().settings
    account = await _account(user_id)
    if account is None:
        return False
    token = change_token(AddressChange(user_id, account["email"], new_address), settings)
    context = {
        "username": account["username"],
        "path": f"/account/email/{token}",
        "hours": settings.email_confirmation_hours,
        "new_address": new_address,
    }
    await _send("address_change", context, new_address)
    return True


@task(name="bandstand.send_address_changed", retries=3, backoff_seconds=30, timeout_seconds=60)
async def send_address_changed(user_id: int, old_address: str, new_address: str) -> None:
    """Tell the old address that the account's address changed, and to which."""
    account = await _account(user_id)
    context = {
        "username": "" if account is None else account["username"],
        "new_address": new_address,
    }
    await _send("address_changed", context, old_address)
