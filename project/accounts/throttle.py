"""Login throttling per client address and per account, counted in the database.

Counting in the database, not in process memory, makes the limit hold across every app
instance behind a load balancer. One upsert per failure keeps concurrent failures exact.
"""

from __future__ import annotations

import datetime

from project.accounts.tables import LoginThrottle
from project.accounts.users import MAX_LOGIN_LENGTH
from project.settings import Settings

_COUNT_FAILURE = """
INSERT INTO login_throttle (key, failures, window_started) VALUES ({}, 1, {})
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN login_throttle.window_started < {} THEN 1
                    ELSE login_throttle.failures + 1 END,
    window_started = CASE WHEN login_throttle.window_started < {} THEN {}
                          ELSE login_throttle.window_started END
"""


def client_key(address: str) -> str:
    return f"client:{address}"


def account_key(login: str, user_id: int | None) -> str:
    """One key per account, whether it is named by username or e-mail address."""
    if user_id is not None:
        return f"account:{user_id}"
    # Cut to the longest login there can be: a longer one names no account anyway.
    return f"account:{login.strip().lower()[:MAX_LOGIN_LENGTH]}"


def _window(settings: Settings) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    return now, now - datetime.timedelta(minutes=settings.login_throttle_minutes)


async def is_throttled(client: str, account: str, settings: Settings) -> bool:
    _, window_start = _window(settings)
    rows = await LoginThrottle.select(LoginThrottle.key, LoginThrottle.failures).where(
        LoginThrottle.key.is_in([client, account]) & (LoginThrottle.window_started >= window_start)
    )
    limits = {
        client: settings.login_failures_per_client,
        account: settings.login_failures_per_account,
    }
    return any(row["failures"] >= limits[row["key"]] for row in rows)


async def count_failure(client: str, account: str, settings: Settings) -> None:
    now, window_start = _window(settings)
    for key in (client, account):
        await LoginThrottle.raw(_COUNT_FAILURE, key, now, window_start, window_start, now)


async def forget_account(account: str) -> None:
    """A successful login clears its account's failures (the client's stay counted)."""
    await LoginThrottle.delete().where(LoginThrottle.key == account)
