"""The project's management commands, run as `piccolo project <command>`."""

from __future__ import annotations

import sys

from piccolo.apps.user.tables import BaseUser
from rich.progress import Progress

from project.accounts.users import create_user, set_password
from project.features import FEATURES
from project.settings import get_settings

DEMO_ACTIONS = ("load", "reset", "clear")


async def demo(action: str = "load") -> None:
    """
    Load, reset or clear the demo data of every installed feature.

    :param action:
        load (only into features that have none yet), reset (clear, then load) or clear.
    """
    if action not in DEMO_ACTIONS:
        sys.exit(f"demo: unknown action {action!r}; expected {', '.join(DEMO_ACTIONS)}")
    steps = [
        (feature.name, step)
        for feature in FEATURES
        for step in (
            feature.clear_demo if action in ("reset", "clear") else None,
            feature.load_demo if action in ("load", "reset") else None,
        )
        if step is not None
    ]
    with Progress(transient=False) as progress:
        task = progress.add_task(f"demo data: {action}", total=len(steps))
        for name, step in steps:
            progress.update(task, description=f"demo data: {action} {name}")
            await step()
            progress.advance(task)
        progress.update(task, description=f"demo data: {action} done")


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
