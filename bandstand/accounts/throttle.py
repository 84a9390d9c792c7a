"""Login throttling per client address and per account, password reset requests per client
and per address, and the address links an account asks for, counted in the database.

Counting in the database, not in process memory, makes the limit hold across every app
instance behind a load balancer. One upsert per attempt keeps concurrent attempts exact.
"""

from __future__ import annotations

import datetime

from bandstand.accounts.email_addresses import MAX_ADDRESS_LENGTH
from bandstand.accounts.tables import LoginThrottle
from bandstand.accounts.users import MAX_LOGIN_LENGTH
from bandstand.settings import Settings

_COUNT_ATTEMPT = """
INSERT INTO login_throttle (key, failures, window_started) VALUES ({}, 1, {})
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN login_throttle.window_started < {} THEN 1
                    ELSE login_throttle.failures + 1 END,
    window_started = CASE WHEN login_throttle.window_started < {} THEN {}
                          ELSE login_throttle.window_started END
RETURNING failures
"""
_REFUND = "UPDATE login_throttle SET failures = failures - 1 WHERE key = {} AND failures > 0"


def client_key(address: str) -> str:
    return f"client:{address}"


def account_key(login: str, user_id: int | None) -> str:
    """One key per account, whether it is named by username or e-mail address."""
    if user_id is not None:
        return f"account:{user_id}"
    # Cut to the longest login there can be: a longer one names no account anyway. Without NUL,
    # which PostgreSQL cannot store in text (and which no account's name holds).
    name = login.replace("\0", "").strip().lower()
    return f"account:{name[:MAX_LOGIN_LENGTH]}"


def _window(settings: Settings) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    return now, now - datetime.timedelta(minutes=settings.login_throttle_minutes)


async def claim_attempt(client: str, account: str, settings: Settings) -> bool:
    """Count a login attempt against both keys before its password is checked; False when
    either is past its limit. Checking first and counting after the (slow) password check let
    every guess that arrived at once through: 50 concurrent guesses were all tried."""
    return await _claim(
        {client: settings.login_failures_per_client, account: settings.login_failures_per_account},
        settings,
    )


async def claim_reset_request(client: str, address: str, settings: Settings) -> bool:
    """Count a password reset request against the client and the address asked about (whether
    or not an account has it); False when either is past its limit."""
    address_key = (
        f"reset-address:{address.replace(chr(0), '').strip().lower()[:MAX_ADDRESS_LENGTH]}"
    )
    return await _claim(
        {
            f"reset-{client}": settings.password_resets_per_client,
            address_key: settings.password_resets_per_address,
        },
        settings,
    )


async def claim_email_link(user_id: int, settings: Settings) -> bool:
    """Count a request for an address link (a resend, or an address change) against the
    account; False when it is past its limit."""
    return await _claim({f"email-links:{user_id}": settings.email_links_per_account}, settings)


async def _claim(limits: dict[str, int], settings: Settings) -> bool:
    now, window_start = _window(settings)
    allowed = True
    for key, limit in limits.items():
        rows = await LoginThrottle.raw(_COUNT_ATTEMPT, key, now, window_start, window_start, now)
        allowed = allowed and rows[0]["failures"] <= limit
    return allowed


async def refund(client: str, account: str) -> None:
    """Give both keys back the attempt just claimed: it was not a failure, nor yet a login."""
    for key in (client, account):
        await LoginThrottle.raw(_REFUND, key)


async def login_succeeded(client: str, account: str) -> None:
    """The claimed attempt was the right password: the account's failures are forgotten and
    the client's count gets its attempt back (an office behind one address logs in often)."""
    await LoginThrottle.delete().where(LoginThrottle.key == account)
    await LoginThrottle.raw(_REFUND, client)
