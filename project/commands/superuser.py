"""`piccolo project superuser`: the superuser from the environment, created or updated."""

from __future__ import annotations

import sys

from piccolo.apps.user.tables import BaseUser

from project.accounts.users import create_user, set_password
from project.settings import get_settings


async def superuser() -> None:
    """
    Create the superuser named by SUPERUSER_USERNAME, or update it: e-mail, password, and the
    active, staff and superuser flags. Reads SUPERUSER_USERNAME, SUPERUSER_EMAIL and
    SUPERUSER_PASSWORD from the environment (or .env); safe to run on every deploy.
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
            await create_user(username, email, password, admin=True, superuser=True)
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
    print(f"superuser {username!r} updated")
