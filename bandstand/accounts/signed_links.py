"""Signed, timed tokens for the links e-mailed to an account holder (password reset, address
confirmation). itsdangerous signs and times them, as Flask's and Django-alike stacks do; each
kind of link has its own salt, so that no token of one kind passes for another."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

from bandstand.settings import Settings

# Far longer than any token made here (two addresses at most): a longer one is refused before
# any work.
MAX_TOKEN_LENGTH = 1200


def serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=salt)


def sign(value: list[Any], settings: Settings, salt: str) -> str:
    return str(serializer(settings, salt).dumps(value))


def unsign(token: str, settings: Settings, salt: str, max_age_seconds: int) -> Any:
    """What the token holds, or None if it is not one of ours (of this kind), was changed, or
    is older than `max_age_seconds`."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        return serializer(settings, salt).loads(token, max_age=max_age_seconds)
    except BadData:
        return None
