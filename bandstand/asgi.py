"""Wrappers for an ASGI app mounted in the site (Piccolo Admin), beside the edge layer: what
Litestar does for its own routes and not for a mount."""

from __future__ import annotations

from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send


def declared_size(scope: Scope) -> int:
    """The request body's size, as its Content-Length says (0 when it says nothing)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def too_large(scope: Scope, receive: Receive, send: Send) -> None:
    text = "Request body too large."
    await ASGIResponse(body=text, status_code=413, media_type="text/plain")(scope, receive, send)


async def call_capped(app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """The site's body limit, which Litestar applies to its own routes but not to a mount:
    Piccolo Admin would read a body of any size, or spool an upload of any size to disk. Past
    the limit the admin sees the client go away, and the client gets a 413."""
    taken, exceeded, started = 0, False, False

    async def receive_capped() -> ReceiveMessage:
        nonlocal taken, exceeded
        message = await receive()
        if message["type"] == "http.request":
            taken += len(message.get("body", b""))
            if taken > limit:
                exceeded = True
                return {"type": "http.disconnect"}
        return message

    async def send_watched(message: Message) -> None:
        nonlocal started
        if exceeded and not started:
            return  # the admin's answer to a client it thinks is gone: ours is the 413
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive_capped, send_watched)
    except Exception:
        if not exceeded:
            raise
    if exceeded and not started:
        await too_large(scope, receive, send)


def secure_cookies(send: Send) -> Send:
    """Mark the admin's cookies `Secure`: piccolo_api sets its CSRF cookie without it, even in
    production, so a plain-http request could carry it."""

    async def send_secure(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                (name, value + b"; Secure")
                if name.lower() == b"set-cookie" and b"secure" not in value.lower()
                else (name, value)
                for name, value in message.get("headers", ())
            ]
        await send(message)

    return send_secure
