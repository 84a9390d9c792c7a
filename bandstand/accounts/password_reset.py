"""Password reset links: a signed token that names the account and a digest of its password
hash and address, so that it stops working once the password changes (its use included) or the
address does (as Django's do: a link sent to an address the account has left must not work),
and after PASSWORD_RESET_MINUTES."""

from __future__ import annotations

import hashlib

from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.signed_links import sign, unsign
from bandstand.accounts.users import hash_password
from bandstand.settings import Settings

SALT = "bandstand.password-reset"


def _digest(password_hash: str, address: str) -> str:
    return hashlib.sha256(f"{password_hash}\0{address.lower()}".encode()).hexdigest()[:20]


def make_token(user_id: int, password_hash: str, address: str, settings: Settings) -> str:
    return sign([user_id, _digest(password_hash, address)], settings, SALT)


def read_token(token: str, settings: Settings) -> tuple[int, str] | None:
    """The account and digest a token names, or None if it is not one of ours, was
    changed, or is older than PASSWORD_RESET_MINUTES."""
    match unsign(token, settings, SALT, settings.password_reset_minutes * 60):
        case [int() as user_id, str() as digest]:
            return user_id, digest
    return None


async def _holder(token: str, settings: Settings) -> tuple[int, str] | None:
    """The active account the token can still reset, and its password hash now."""
    named = read_token(token, settings)
    if named is None:
        return None
    user_id, digest = named
    row = (
        await BaseUser.select(BaseUser.password, BaseUser.email)
        .where((BaseUser.id == user_id) & (BaseUser.active.eq(True)))
        .first()
    )
    if row is None or _digest(row["password"], row["email"]) != digest:
        return None
    return user_id, row["password"]


async def account_for(token: str, settings: Settings) -> int | None:
    """The active account the token can still reset."""
    holder = await _holder(token, settings)
    return None if holder is None else holder[0]


async def reset_password(token: str, new_password: str, settings: Settings) -> int | None:
    """Set the account's new password if the token still holds; the account, or None. Of two
    uses of one token at the same moment, one wins: the update names the old hash. Raises
    ValueError for a password Piccolo refuses."""
    holder = await _holder(token, settings)
    if holder is None:
        return None
    user_id, old_hash = holder
    hashed = await hash_password(new_password)
    changed = (
        await BaseUser.update({BaseUser.password: hashed})
        .where((BaseUser.id == user_id) & (BaseUser.password == old_hash))
        .returning(BaseUser.id)
    )
    return user_id if changed else None
