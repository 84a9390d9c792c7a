"""Confirmed e-mail addresses: the links that confirm an account's address, or a new one, and
whether an account's address is confirmed.

A confirmation link names the account and the address; a change link names the account, its
address when the change was asked for, and the new one. Each works while the account's address
is still the one it names, so a change link works once, and every link dies when the address
changes another way.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

from piccolo.apps.user.tables import BaseUser
from piccolo.columns.combination import WhereRaw
from piccolo.custom_types import Combinable

from bandstand.accounts.signed_links import sign, unsign
from bandstand.accounts.tables import VerifiedEmail
from bandstand.settings import Settings

CONFIRM_SALT = "bandstand.email-confirmation"
CHANGE_SALT = "bandstand.email-change"
MAX_ADDRESS_LENGTH = 254


class AddressChange(NamedTuple):
    user_id: int
    old: str
    new: str


def normalized_address(raw: str) -> str | None:
    """The address as kept (trimmed, lower case), or None if it cannot be one."""
    address = raw.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or len(address) > MAX_ADDRESS_LENGTH:
        return None
    if not address.isprintable() or any(character.isspace() for character in address):
        return None
    return address


def _max_age(settings: Settings) -> int:
    return settings.email_confirmation_hours * 3600


def confirmation_token(user_id: int, address: str, settings: Settings) -> str:
    return sign([user_id, address.lower()], settings, CONFIRM_SALT)


def change_token(change: AddressChange, settings: Settings) -> str:
    return sign([change.user_id, change.old.lower(), change.new.lower()], settings, CHANGE_SALT)


async def is_verified(user_id: int, address: str) -> bool:
    return bool(
        await VerifiedEmail.exists().where(
            (VerifiedEmail.user == user_id) & (VerifiedEmail.address == address.lower())
        )
    )


async def mark_verified(user_id: int, address: str) -> None:
    row = VerifiedEmail(
        user=user_id, address=address.lower(), verified_at=datetime.datetime.now(datetime.UTC)
    )
    await VerifiedEmail.insert(row).on_conflict(
        target=VerifiedEmail.user,
        action="DO UPDATE",
        values=[VerifiedEmail.address, VerifiedEmail.verified_at],
    )


def _address_is(address: str) -> WhereRaw:
    return WhereRaw("LOWER(email) = {}", address)


async def _holds(user_id: int, address: str) -> bool:
    """The active account still has this address."""
    return bool(
        await BaseUser.exists().where(
            (BaseUser.id == user_id) & _address_is(address) & BaseUser.active.eq(True)
        )
    )


async def address_to_confirm(token: str, settings: Settings) -> tuple[int, str] | None:
    """The account and address a confirmation link confirms, while it still can."""
    match unsign(token, settings, CONFIRM_SALT, _max_age(settings)):
        case [int() as user_id, str() as address] if await _holds(user_id, address):
            return user_id, address
    return None


async def change_to_confirm(token: str, settings: Settings) -> AddressChange | None:
    """The change a change link confirms, while it still can."""
    match unsign(token, settings, CHANGE_SALT, _max_age(settings)):
        case [int() as user_id, str() as old, str() as new] if await _holds(user_id, old):
            return AddressChange(user_id, old, new)
    return None


async def address_taken(address: str, *, by_other_than: int | None = None) -> bool:
    """An account (other than `by_other_than`) has the address, in any case."""
    taken: Combinable = _address_is(address)
    if by_other_than is not None:
        taken = taken & (BaseUser.id != by_other_than)
    return bool(await BaseUser.exists().where(taken))


async def change_address(change: AddressChange) -> bool:
    """Give the account its new, confirmed address if it still has the old one; whether it did.
    Of two uses of one link at the same moment, one wins: the update names the old address.
    Raises a unique violation if another account took the new address meanwhile."""
    async with BaseUser._meta.db.transaction():
        changed = (
            await BaseUser.update({BaseUser.email: change.new})
            .where((BaseUser.id == change.user_id) & _address_is(change.old))
            .returning(BaseUser.id)
        )
        if changed:
            await mark_verified(change.user_id, change.new)
    return bool(changed)
