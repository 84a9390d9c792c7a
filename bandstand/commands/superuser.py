"""`piccolo project superuser`: the superuser from the environment, created or updated."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext

from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.email_addresses import mark_verified
from bandstand.accounts.users import create_user, set_password
from bandstand.settings import get_settings

SUPERUSER_HINT = (
    "superuser: none yet; create one later with "
    "SUPERUSER_USERNAME=… SUPERUSER_PASSWORD=… piccolo project superuser "
    "(or run piccolo project setup in a terminal)"
)


async def superuser() -> None:
    """
    Create the superuser named by SUPERUSER_USERNAME, or update it: e-mail (confirmed),
    password, and the active, staff and superuser flags. Reads SUPERUSER_USERNAME,
    SUPERUSER_EMAIL and SUPERUSER_PASSWORD from the environment (or .env); safe to run on every
    deploy.
    """
    settings = get_settings()
    username, email, password = (
        settings.superuser_username.strip(),
        settings.superuser_email.strip(),
        settings.superuser_password,
    )
    if not username or not password:
        sys.exit("superuser: set SUPERUSER_USERNAME and SUPERUSER_PASSWORD (and SUPERUSER_EMAIL)")
    email = email or f"{username}@localhost"
    try:
        existing = await BaseUser.select(BaseUser.id).where(BaseUser.username == username).first()
        if existing is None:
            user_id = await create_user(username, email, password, admin=True, superuser=True)
            # The operator chose the address: no link is needed to confirm it.
            await mark_verified(user_id, email)
            print(f"superuser {username!r} created")
            return
        await set_password(existing["id"], password)
    except ValueError as error:  # the password's length
        sys.exit(f"superuser: {error}")
    await BaseUser.update(
        {
            BaseUser.email: email,
            BaseUser.active: True,
            BaseUser.admin: True,
            BaseUser.superuser: True,
        }
    ).where(BaseUser.id == existing["id"])
    await mark_verified(existing["id"], email)
    print(f"superuser {username!r} updated")


async def ensure_superuser(
    *,
    ask: Callable[[], Awaitable[bool]] | None = None,
    pause: Callable[[], AbstractContextManager[None]] = nullcontext,
) -> bool:
    """Make sure a superuser exists: from SUPERUSER_* if set, else by `ask`ing in a terminal,
    else say how to make one later. Whether one was created."""
    existing = await BaseUser.select(BaseUser.username).where(BaseUser.superuser.eq(True)).first()
    if existing is not None:
        print(f"superuser: {existing['username']!r} exists")
        return False
    settings = get_settings()
    if settings.superuser_username.strip() and settings.superuser_password:
        await superuser()
        return True
    if ask is not None and sys.stdin.isatty():
        with pause():
            return await ask()
    print(SUPERUSER_HINT)
    return False
