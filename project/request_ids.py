"""A request id for every request: the one a platform's router sent (`X-Request-ID`, set by
Heroku, Render and others) when it is sane, else a new one. It is sent back on the response
and attached to every log record written while the request is handled, so one line in a
platform's router log leads to everything the app wrote about that request.
"""

from __future__ import annotations

import logging
import random
import re
import time
from contextvars import ContextVar

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

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


def incoming_or_new(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _SANE(value) else new_id()
    return new_id()


class RequestIdMiddleware:
    """Raw ASGI, around the whole app (unknown paths never reach Litestar's middleware list):
    one header scan, one contextvar set, one header appended; with `access_log`, also one
    log line per request (what uvicorn's plain-text access log says, plus the id)."""

    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = incoming_or_new(scope)
        encoded = request_id.encode("ascii")
        status = 500  # what the server answers if the app fails before it responds

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A copy: a response may reuse one header list for every request it answers.
                message["headers"] = [*message.get("headers", ()), (HEADER, encoded)]
            await send(message)

        token = _current.set(request_id)
        # Read now: a mount (Piccolo Admin) strips its prefix from the scope's path.
        method, path, started = scope["method"], scope["path"], time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log and access_logger.isEnabledFor(logging.INFO):
                _log_access(scope, method, path, status, time.perf_counter() - started)
            _current.reset(token)


def _log_access(scope: Scope, method: str, path: str, status: int, seconds: float) -> None:
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
