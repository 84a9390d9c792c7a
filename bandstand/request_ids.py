"""A request id for every request: the one a platform's router sent (`X-Request-ID`, set by
Heroku, Render and others) when it is sane, else a new one. It is sent back on the response
and attached to every log record written while the request is handled, so one line in a
platform's router log leads to everything the app wrote about that request.
"""

from __future__ import annotations

import logging
import random
import re
from contextvars import ContextVar, Token

from litestar.types import Scope

HEADER = b"x-request-id"
# Anything else is replaced: the id is written into log lines and response headers, so it
# must not carry newlines, quotes or a megabyte of text.
_SANE = re.compile(rb"[A-Za-z0-9._-]{1,128}").fullmatch

_current: ContextVar[str | None] = ContextVar("request_id", default=None)

access_logger = logging.getLogger("bandstand.access")


def current_request_id() -> str | None:
    """The id of the request being handled, None outside a request."""
    return _current.get()


def new_id() -> str:
    # Not `uuid4`, which reads the kernel's randomness with a system call per request. An id
    # needs to be unique, not secret; `random` is seeded from the kernel and again after a fork.
    return f"{random.getrandbits(128):032x}"


def incoming_or_new(incoming: bytes | None) -> str:
    """The router's id when it sent a sane one, else a new one."""
    if incoming is not None and _SANE(incoming):
        return incoming.decode("ascii")
    return new_id()


def bind(request_id: str) -> Token[str | None]:
    """Make `request_id` the current one, until `unbind` with the token returned."""
    return _current.set(request_id)


def unbind(token: Token[str | None]) -> None:
    _current.reset(token)


def log_access(scope: Scope, method: str, path: str, status: int, seconds: float) -> None:
    """One line per request: what uvicorn's plain-text access log says, plus the id."""
    client = scope.get("client")
    access_logger.info(
        "%s %s %d",
        method,
        path,
        status,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "client": client[0] if client else None,
        },
    )
