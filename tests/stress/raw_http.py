"""Requests handed to an ASGI app byte for byte, as a server would hand them over, and every log
record the app writes while it answers.

An HTTP client cleans what it sends (httpx percent-encodes a URL's non-ASCII bytes and
normalises it); a fuzzer must not. The scope is what uvicorn builds: `path` is the raw path
percent-decoded (invalid UTF-8 becomes U+FFFD), `raw_path` and `query_string` are the bytes as
sent, header names are lower-case and values are untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import anyio
from litestar.types import ASGIApp, HTTPReceiveMessage, Message

# What a server hands the app at a time; a large body arrives in pieces.
CHUNK = 64 * 1024
CLIENT = ("127.0.0.1", 40000)
SERVER = ("localhost", 80)
# Longer than any answer of the site takes (the chat's streamed ones included).
ANSWER_SECONDS = 30

Header = tuple[bytes, bytes]


@dataclass(frozen=True)
class RawRequest:
    method: str
    raw_path: bytes  # ASCII, percent-encoded: a server refuses anything else in a path
    query: bytes = b""
    headers: tuple[Header, ...] = ()
    body: bytes = b""

    def describe(self, limit: int = 160) -> str:
        """One line for a report: the method, the target and the body's start."""
        target = self.raw_path + (b"?" + self.query if self.query else b"")
        text = f"{self.method} {_shown(target, limit)}"
        return text + (f" body {_shown(self.body, limit)}" if self.body else "")


@dataclass
class RawResponse:
    status: int
    headers: list[Header] = field(default_factory=list)
    body: bytes = b""
    # Set when the app raised instead of answering, or did not finish in time: what a server
    # turns into a 500.
    failure: str = ""

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key.lower() == name), None)

    @property
    def content_type(self) -> str:
        return (self.header(b"content-type") or b"").decode("latin-1").lower()


def scope_for(request: RawRequest) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": unquote(request.raw_path.decode("ascii")),
        "raw_path": request.raw_path,
        "query_string": request.query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.headers],
        "client": CLIENT,
        "server": SERVER,
        "extensions": {},
        "state": {},
    }


async def exchange(app: ASGIApp, request: RawRequest) -> RawResponse:
    """The app's answer to `request`; a response whose app raised or hung has `failure` set."""
    chunks = [request.body[at : at + CHUNK] for at in range(0, len(request.body), CHUNK)]
    pending = chunks or [b""]
    answered = anyio.Event()
    response = RawResponse(status=0)
    body: list[bytes] = []

    async def receive() -> HTTPReceiveMessage:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        # The request is all read: the client is there until the answer is complete.
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    try:
        with anyio.fail_after(ANSWER_SECONDS):
            await app(scope_for(request), receive, send)  # type: ignore[arg-type]
    except TimeoutError:
        response.failure = f"no complete answer in {ANSWER_SECONDS} s"
    except Exception as error:  # noqa: BLE001 - a server answers any of them with a 500
        response.failure = f"the app raised {type(error).__name__}: {error}"
    answered.set()
    response.body = b"".join(body)
    if response.failure or not response.status:
        response.status = 500
        response.failure = response.failure or "the app ended without answering"
    return response


def _shown(data: bytes, limit: int) -> str:
    text = repr(data[:limit])[2:-1]
    return text + (f"… ({len(data):,} bytes)" if len(data) > limit else "")


class LogWatch(logging.Handler):
    """Keeps every record at ERROR or above, and every record that carries a traceback, from
    the root logger and every logger that does not pass its records up to it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if (
            record.levelno >= logging.ERROR
            or record.exc_info
            or record.exc_text
            or record.stack_info
            or "Traceback (most recent call last)" in message
        ):
            self.records.append(record)

    def take(self) -> list[str]:
        """What was kept since the last call, one text per record, and forget it."""
        texts = [_record_text(record) for record in self.records]
        self.records.clear()
        return texts

    @contextmanager
    def watching(self) -> Iterator[LogWatch]:
        loggers = [logging.getLogger(), *_loggers_that_stop_records()]
        for logger in loggers:
            logger.addHandler(self)
        try:
            yield self
        finally:
            for logger in loggers:
                logger.removeHandler(self)


def _loggers_that_stop_records() -> list[logging.Logger]:
    return [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]


def _record_text(record: logging.LogRecord) -> str:
    text = f"{record.levelname} {record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        text += f" [{type(error).__name__}: {error}]"
    elif record.exc_text:
        text += f" [{record.exc_text.strip().splitlines()[-1]}]"
    return text if len(text) <= 400 else text[:400] + "…"
