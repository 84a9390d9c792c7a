"""Password checks and changes with PBKDF2 off the event loop.

Piccolo's `BaseUser` hashes with 600,000 PBKDF2 iterations (about 0.1 s of CPU) on the event
loop, stalling every other request for the duration of each login. `User` is the same table
with hashing moved to a worker thread; Piccolo Admin logs in through it too.
"""

from __future__ import annotations

import datetime
from typing import Any

import anyio.to_thread
from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.tables import Membership
from bandstand.tokens import tokens_match

# Hashed when the login names no user, so that a missing account takes as long as a wrong
# password and the timing does not tell which.
_DUMMY_SALT = "bandstand-no-such-user"
MAX_LOGIN_LENGTH = 255
MAX_PASSWORD_LENGTH = BaseUser._max_password_length


class User(BaseUser, tablename="piccolo_user"):
    """`BaseUser` with its hashing on a worker thread (not registered for migrations)."""

    @classmethod
    async def login(cls, username: str, password: str) -> int | None:
        return await verify_login(username, password)


async def hash_password(password: str) -> str:
    """Validate (length) and hash, on a worker thread; raises ValueError for a bad password."""
    BaseUser._validate_password(password=password)
    return await anyio.to_thread.run_sync(BaseUser.hash_password, password)


async def _matches(password: str, stored: str) -> bool:
    try:
        _, iterations, salt, _ = BaseUser.split_stored_password(stored)
        candidate = await anyio.to_thread.run_sync(
            BaseUser.hash_password, password, salt, int(iterations)
        )
    except ValueError:  # malformed hash, or an over-long password
        return False
    return tokens_match(candidate, stored)


def _by_login(login: str) -> Any:
    """The user named by a login: the e-mail address when it has an @, else the username."""
    return (BaseUser.email if "@" in login else BaseUser.username) == login


async def find_user_id(login: str) -> int | None:
    if "\0" in login:  # PostgreSQL refuses NUL in text, and no login holds one
        return None
    row = await BaseUser.select(BaseUser.id).where(_by_login(login)).first()
    return None if row is None else int(row["id"])


async def verify_login(login: str, password: str) -> int | None:
    """The active user whose username (or e-mail, when it has an @) and password match."""
    if len(login) > MAX_LOGIN_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        return None  # Piccolo refuses to hash these; they match no one
    if "\0" in login:
        return None  # no login holds NUL, and PostgreSQL would refuse the query
    row = (
        await BaseUser.select(BaseUser.id, BaseUser.password, BaseUser.active)
        .where(_by_login(login))
        .first()
    )
    if row is None:
        await anyio.to_thread.run_sync(BaseUser.hash_password, password, _DUMMY_SALT)
        return None
    if not await _matches(password, row["password"]) or not row["active"]:
        return None
    await BaseUser.update({BaseUser.last_login: datetime.datetime.now()}).where(
        BaseUser.id == row["id"]
    )
    return int(row["id"])


async def check_password(user_id: int, password: str) -> bool:
    row = await BaseUser.select(BaseUser.password).where(BaseUser.id == user_id).first()
    return row is not None and await _matches(password, row["password"])


async def set_password(user_id: int, password: str) -> None:
    hashed = await hash_password(password)
    await BaseUser.update({BaseUser.password: hashed}).where(BaseUser.id == user_id)


async def create_user(
    username: str, email: str, password: str, *, admin: bool = False, superuser: bool = False
) -> int:
    hashed = await hash_password(password)
    rows = await BaseUser.insert(
        BaseUser(
            username=username,
            email=email,
            password=hashed,
            active=True,
            admin=admin,
            superuser=superuser,
        )
    )
    return int(rows[0]["id"])


async def is_staff(user_id: int) -> bool:
    staff = (BaseUser.admin == True) | (BaseUser.superuser == True)  # noqa: E712
    return bool(await BaseUser.exists().where((BaseUser.id == user_id) & staff))


async def group_names(user_id: int) -> set[str]:
    rows = await Membership.select(Membership.group.name.as_alias("name")).where(
        Membership.user == user_id
    )
    return {row["name"] for row in rows}


async def is_in_group(user_id: int, name: str) -> bool:
    return bool(
        await Membership.exists().where(
            (Membership.user == user_id) & (Membership.group.name == name)
        )
    )
