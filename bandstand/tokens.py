"""Secrets that arrive in requests, compared in one place: CSRF tokens (the site's and Piccolo
Admin's), and any token a feature hands out and later reads back.

What a client sends is text of its choosing: any length, any characters. `hmac.compare_digest`
raises TypeError for `str` holding non-ASCII characters, so a token with one more character
(`¿`) is a 500 where a wrong token is a 403 (docs/security.md). Here both sides are compared as
UTF-8 bytes in constant time, and a value longer than any token is refused before that.
"""

from __future__ import annotations

import hmac
import re

# Longer than any token the site makes (Litestar's CSRF tokens are 128 characters).
MAX_TOKEN_BYTES = 1024


def _as_bytes(value: str | bytes) -> bytes:
    # surrogatepass: a header or query value may hold a lone surrogate, which strict UTF-8
    # refuses to encode; it then compares as the bytes it stands for, and matches nothing.
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def tokens_match(given: str | bytes | None, expected: str | bytes) -> bool:
    """Whether the secret a request gave is `expected`: False for None, an over-long value or
    any other, never an exception."""
    if given is None:
        return False
    given_bytes = _as_bytes(given)
    if len(given_bytes) > MAX_TOKEN_BYTES:
        return False
    return hmac.compare_digest(given_bytes, _as_bytes(expected))


def well_formed(value: object, shape: re.Pattern[str]) -> str | None:
    """`value` if it is text of the token's `shape` (matched whole), else None: what a
    request sends in place of a token is anything at all."""
    if isinstance(value, str) and len(value) <= MAX_TOKEN_BYTES and shape.fullmatch(value):
        return value
    return None
