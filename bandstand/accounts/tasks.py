"""The accounts' jobs: the password reset e-mail. The request that asks for one only queues
this job, whether or not an account has the address: the answer and its timing tell nothing."""

from __future__ import annotations

import anyio.to_thread
from piccolo.apps.user.tables import BaseUser
from piccolo.columns.combination import WhereRaw

from bandstand.accounts.password_reset import make_token
from bandstand.jobs import task, worker

RESET_TEMPLATE = "password_reset"


@task(name="bandstand.send_password_reset", retries=3, backoff_seconds=30, timeout_seconds=60)
async def send_password_reset(address: str) -> bool:
    """E-mail a reset link to the active account with this address, if there is one; says
    whether there was."""
    current = worker.current()
    settings = current.settings
    row = (
        await BaseUser.select(BaseUser.id, BaseUser.username, BaseUser.email, BaseUser.password)
        .where(WhereRaw("LOWER(email) = {}", address.lower()) & BaseUser.active.eq(True))
        .first()
    )
    if row is None:
        return False
    # Here, not at import: the mailer reads the features' templates, and the features import
    # this module.
    from bandstand.email.mailer import Mailer

    mailer = await anyio.to_thread.run_sync(
        lambda: Mailer(settings, current.site.features, site_name=current.site.name)
    )
    token = make_token(row["id"], row["password"], settings)
    context = {
        "username": row["username"],
        "path": f"/password-reset/{token}",
        "minutes": settings.password_reset_minutes,
    }
    await mailer.send(mailer.message(RESET_TEMPLATE, context, to=[row["email"]]))
    return True
