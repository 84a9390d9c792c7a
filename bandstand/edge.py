"""The outermost layer of the site: the Host check, the request id and the security headers,
and a query string the rest can read.

Raw ASGI around the whole app rather than in Litestar's middleware list: Litestar answers a
path no route matches before that list runs, and its 404 needs the id and the headers too. One
layer for the three, with one pass over the request's headers and one wrapper around `send`:
as three layers they cost a small JSON read much more of its CPU (docs/performance.md).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence

from litestar.enums import ScopeType
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from bandstand.headers import SecurityHeaders
from bandstand.hosts import HostCheck
from bandstand.request_ids import HEADER, access_logger, bind, incoming_or_new, log_access, unbind

HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def readable_query(query: bytes) -> bytes:
    """`query` with its bytes that are not UTF-8 text percent-encoded, as a browser sends them.

    uvicorn refuses a raw non-ASCII byte in a request target (400), but ASGI leaves it to the
    server, and one that passes the query's bytes on as they came would break every page:
    Litestar reads `request.url` (each page and error response does) by decoding the query as
    UTF-8, which raised on a raw `\\xff`, so that even the error page failed. Encoded, it is the
    same query to every parser (they percent-decode), and text as it should be.
    """
    if query.isascii():
        return query
    try:
        query.decode()
    except UnicodeDecodeError:
        return HIGH_BYTE.sub(lambda byte: b"%%%02X" % byte[0][0], query)
    return query


INVALID_HOST = ASGIResponse(
    body=b'{"status_code":400,"detail":"The Host header names no host this site serves."}',
    status_code=400,
    media_type="application/json",
)


class EdgeMiddleware:
    """Refuses a Host not in ALLOWED_HOSTS (400; the probes answer any), gives every request an
    id (sent back, and on its log records), adds the security headers to every response; with
    `access_log`, writes one log line per request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: Sequence[str],
        hsts: bool,
        access_log: bool = False,
        form_targets: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.hosts = HostCheck(hosts)
        self.security_headers = SecurityHeaders(hsts=hsts, form_targets=form_targets)
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        query = scope["query_string"]
        if (readable := readable_query(query)) is not query:
            scope = {**scope, "query_string": readable}
        host = incoming = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == HEADER:
                incoming = value
        request_id = incoming_or_new(incoming)
        encoded = request_id.encode("ascii")
        # Read now: a mount (Piccolo Admin) strips its prefix from the scope's path.
        method, path, started = scope["method"], scope["path"], time.perf_counter()
        status = 500  # what the server answers if the app fails before it responds

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: a response may reuse one header list for every request it answers.
                headers = self.security_headers.added_to(message.get("headers", ()), scope, path)
                headers.append((HEADER, encoded))
                message["headers"] = headers
            await send(message)

        token = bind(request_id)
        try:
            if self.hosts.allows(host, path):
                await self.app(scope, receive, send_with_headers)
            else:
                await INVALID_HOST(scope, receive, send_with_headers)
        finally:
            if self.access_log and access_logger.isEnabledFor(logging.INFO):
                log_access(scope, method, path, status, time.perf_counter() - started)
            unbind(token)
