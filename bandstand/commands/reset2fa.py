"""`piccolo project reset2fa`: turn off an account's second factor, for someone who lost both
their phone and their recovery codes. Whoever can run the site's commands can do it."""

from __future__ import annotations

import getpass
import sys

from piccolo.apps.user.tables import BaseUser


async def reset2fa(username: str) -> None:
    """
    Turn off the second factor of the account USERNAME (which may then log in with its password
    alone, and set up a new one from /account/two-factor), and end its sessions.

    :param username:
        the account's username.
    """
    from piccolo_api.session_auth.tables import SessionsBase

    from bandstand.accounts.two_factor import turn_off
    from bandstand.audit.log import record

    user = await BaseUser.select(BaseUser.id).where(BaseUser.username == username).first()
    if user is None:
        sys.exit(f"reset2fa: no account is named {username!r}")
    if not await turn_off(user["id"]):
        sys.exit(f"reset2fa: {username!r} has no second factor")
    await SessionsBase.delete().where(SessionsBase.user_id == user["id"])
    # Whoever ran it, as the machine knows them: the command has no login of its own.
    await record(
        "two_factor.reset",
        actor=f"cli:{_operator()}",
        target=("piccolo_user", user["id"]),
        source="cli",
    )
    print(f"reset2fa: the second factor of {username!r} is off, and its sessions have ended")


def _operator() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment, no passwd entry
        return "unknown"
