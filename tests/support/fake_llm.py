"""A fake OpenAI-compatible chat-completions and embeddings server, real HTTP on loopback, for
the tests.

`FakeLLM` serves `POST /v1/chat/completions` and `POST /v1/embeddings` with uvicorn in a
background thread (its own event loop, a free 127.0.0.1 port), so sync fixtures, async tests
and a separate app process all reach it the same way: over HTTP at `base_url`.  The `model`
field of a chat request picks the behaviour:

- `echo` (and any unknown model): streams "You said: <last user message>", one word per chunk;
- `slow`: a long answer, 0.2 s between chunks, for disconnecting mid-stream;
- `unauthorized`, `rate-limited`, `server-error`: OpenAI's error JSON with 401, 429, 500;
- `cut`: three chunks, then the connection is dropped without the end of the body;
- `hang`: never answers (until the client goes away or the server stops, at most 60 s);
- `garbage`: one good chunk, then one that is not a chat-completions chunk at all;
- `no-usage`: as `echo`, but never reports usage, as some compatible servers don't;
- `tool-caller`: offered tools, it answers a user's "<tool name> <arguments JSON>" with that
  call (its arguments streamed in pieces, as OpenAI does), and a tool's result with "Tool said:
  <result>";
- `tool-loop`: as `tool-caller`, but calls the tool again after each result, for as long as it
  is offered tools.

Streams honour `max_tokens` (the answer stops there, `finish_reason` "length") and, as OpenAI
does, `stream_options.include_usage`: a last chunk with no choices and the `usage`, in tokens
as this fake counts them (its word tokens, `tokens_of`).

`/v1/embeddings` gives each input a vector of the asked `dimensions` (8 by default) drawn from a
digest of its text, in reverse order (each with its `index`, as the API has it), and counts
usage in word tokens; the model `wrong-dimensions` gives one dimension more, and `server-error`
the 500.

A wrong `Authorization: Bearer` key gives the 401 for every model.

The `fake_llm` fixture yields a started server, and `chat_client` a logged-in client on an app
whose LLM it is.  Use it by listing this module in the root
conftest's `pytest_plugins`, or by importing it into a test module (pytest injects it by
name, so ruff needs `# ruff: noqa: F811` there besides the import's `# noqa: F401`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Self

import httpx
import pytest

from bandstand.testing.accounts import People, log_in_for_api
from bandstand.testing.apps import build_app, client_for
from tests.support.loopback_server import LoopbackServer

DEFAULT_API_KEY = "test-key"
ECHO_DELAY = 0.01
SLOW_DELAY = 0.2
SLOW_TOKENS = 100
HANG_SECONDS = 60.0
CUT_TOKENS = ("Partial", " answer", " then")

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

UNAUTHORIZED = {
    "error": {
        "message": "Invalid API key",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
}
RATE_LIMITED = {"error": {"message": "Rate limit exceeded", "type": "rate_limit_error"}}
SERVER_ERROR = {"error": {"message": "Upstream exploded", "type": "server_error"}}


class _DropConnection(Exception):
    """Raised inside the app after the body has started: uvicorn then closes the connection
    without the terminating chunk, as a proxy killing the stream would."""


class _QuietDrop(logging.Filter):
    """Hide uvicorn's "Exception in ASGI application" traceback for the deliberate drop only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DropConnection))


_quiet_drop = _QuietDrop()


def tokens_of(text: str) -> list[str]:
    """Word tokens that keep their leading space: "You said: hi" -> ["You", " said:", " hi"]."""
    return re.findall(r"\s*\S+", text)


def _last_role(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        return str(messages[-1].get("role", ""))
    return ""


def last_user_content(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
                return "".join(
                    str(part.get("text", ""))
                    for part in content
                    if isinstance(part, dict) and part.get("type") == "text"
                )
            return ""
    return ""


class _Request:
    """One request's disconnect watch: `interrupt` is set when the client goes away or the
    server stops, so every wait in a handler ends at once."""

    def __init__(self) -> None:
        self.interrupt = asyncio.Event()
        self.client_gone = False
        self.finished = False

    async def watch(self, receive: Receive) -> None:
        # Once the body is read, uvicorn's receive() blocks until the client disconnects
        # (or the response is complete): the reliable signal, since send() after a
        # disconnect returns silently.
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not self.finished:
                    self.client_gone = True
                self.interrupt.set()
                return

    async def pause(self, seconds: float) -> bool:
        """Sleep `seconds`; True if interrupted first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.interrupt.wait(), timeout=seconds)
        return self.interrupt.is_set()


class FakeLLM:
    """The fake server; a context manager that starts and stops it."""

    def __init__(self, api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self._disconnects = 0
        self._completed = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(
            self._app, "fake LLM", before_stop=self._interrupt_all, log_filter=_quiet_drop
        )
        self._active: set[_Request] = set()  # touched on the server's loop only
        self._stopping = False
        self.port = 0
        self.base_url = ""

    # ------------------------------------------------------------------ counters

    @property
    def disconnects(self) -> int:
        """Streams that ended because the client went away before the end."""
        with self._lock:
            return self._disconnects

    @property
    def completed(self) -> int:
        """Streams sent to the end ([DONE] included)."""
        with self._lock:
            return self._completed

    def _count(self, *, disconnect: bool) -> None:
        with self._lock:
            if disconnect:
                self._disconnects += 1
            else:
                self._completed += 1

    # ------------------------------------------------------------------ life cycle

    def __enter__(self) -> Self:
        self._server.__enter__()
        self.port = self._server.port
        self.base_url = f"{self._server.url}/v1"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.__exit__(exc_type, exc, traceback)

    def _interrupt_all(self) -> None:
        self._stopping = True
        for request in self._active:
            request.interrupt.set()

    # ------------------------------------------------------------------ the ASGI app

    async def _app(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"].rstrip("/") not in ("/v1/chat/completions", "/v1/embeddings"):
            await _json(send, 404, {"error": {"message": "Not found", "type": "not_found"}})
            return
        if scope["method"] != "POST":
            error = {"message": "Method not allowed", "type": "invalid_request_error"}
            await _json(send, 405, {"error": error})
            return
        raw = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            error = {"message": "Body is not a JSON object", "type": "invalid_request_error"}
            await _json(send, 400, {"error": error})
            return
        with self._lock:
            self.requests.append(body)
            number = len(self.requests)
        headers = dict(scope["headers"])
        if headers.get(b"authorization", b"") != f"Bearer {self.api_key}".encode():
            await _json(send, 401, UNAUTHORIZED)
            return
        model = body.get("model")
        if model == "unauthorized":
            await _json(send, 401, UNAUTHORIZED)
            return
        if model == "rate-limited":
            await _json(send, 429, RATE_LIMITED, [(b"retry-after", b"7")])
            return
        if model == "server-error":
            await _json(send, 500, SERVER_ERROR)
            return
        if scope["path"].rstrip("/") == "/v1/embeddings":
            await _json(send, 200, _embeddings(body))
            return
        if self._stopping:
            error = {"message": "Shutting down", "type": "server_error"}
            await _json(send, 503, {"error": error})
            return

        request = _Request()
        self._active.add(request)
        watcher = asyncio.create_task(request.watch(receive))
        try:
            if model == "hang":
                await self._hang(request, send)
            elif model == "cut":
                await self._cut(request, send, number, model)
            elif model == "garbage":
                # A stream, but not of chat-completion chunks (a misconfigured base URL).
                await _start_stream(send)
                await _event(send, _chunk(number, model, "Fine", first=True))
                await send({"type": "http.response.body", "body": b"data: [1, 2]\n\n"})
            elif (
                model in ("tool-caller", "tool-loop")
                and body.get("tools")
                and (_last_role(body) == "user" or model == "tool-loop")
            ):
                name, _, arguments = last_user_content(body).partition(" ")
                await self._tool_call(send, body, number, name, arguments)
            elif model in ("tool-caller", "tool-loop") and _last_role(body) == "tool":
                answer = f"Tool said: {body['messages'][-1].get('content', '')}"
                await self._answer(request, send, body, number, tokens_of(answer), ECHO_DELAY)
            elif model == "slow":
                answer = "".join(f" word{i}" for i in range(SLOW_TOKENS)).lstrip()
                await self._answer(request, send, body, number, tokens_of(answer), SLOW_DELAY)
            else:
                answer = f"You said: {last_user_content(body)}"
                await self._answer(request, send, body, number, tokens_of(answer), ECHO_DELAY)
        finally:
            self._active.discard(request)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _tool_call(
        self, send: Send, body: dict[str, Any], number: int, name: str, arguments: str
    ) -> None:
        model = str(body["model"])
        await _start_stream(send)
        first = {
            "index": 0,
            "id": f"call_{number}",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        await _event(send, _chunk(number, model, None, first=True, tool_call=first))
        third = max(len(arguments) // 3, 1)
        for start in range(0, len(arguments), third):
            piece = {"index": 0, "function": {"arguments": arguments[start : start + third]}}
            await _event(send, _chunk(number, model, None, tool_call=piece))
        await _event(send, _chunk(number, model, None, finish_reason="tool_calls"))
        await _event(send, _usage_chunk(number, model, body, len(tokens_of(arguments)) + 1))
        self._count(disconnect=False)
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

    async def _hang(self, request: _Request, send: Send) -> None:
        await request.pause(HANG_SECONDS)
        if not request.client_gone:
            error = {"message": "The fake hung for too long", "type": "timeout"}
            await _json(send, 504, {"error": error})

    async def _cut(self, request: _Request, send: Send, number: int, model: str) -> None:
        await _start_stream(send)
        for index, token in enumerate(CUT_TOKENS):
            await _event(send, _chunk(number, model, token, first=index == 0))
            if await request.pause(ECHO_DELAY):
                return
        raise _DropConnection("the fake LLM cuts the stream")

    async def _answer(
        self,
        request: _Request,
        send: Send,
        body: dict[str, Any],
        number: int,
        tokens: list[str],
        delay: float,
    ) -> None:
        model = str(body.get("model", "echo"))
        if not body.get("stream", False):
            answer = "".join(tokens)
            await _json(send, 200, _completion(number, model, answer))
            return
        limit = body.get("max_tokens")
        finish_reason = "stop"
        if isinstance(limit, int) and len(tokens) > limit:
            tokens, finish_reason = tokens[:limit], "length"
        await _start_stream(send)
        for index, token in enumerate(tokens):
            if request.interrupt.is_set():
                break
            await _event(send, _chunk(number, model, token, first=index == 0))
            if await request.pause(delay):
                break
        if request.client_gone:
            self._count(disconnect=True)
            return
        if request.interrupt.is_set():  # the server is stopping: end the body, no [DONE]
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        request.finished = True
        await _event(send, _chunk(number, model, None, finish_reason=finish_reason))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") and model != "no-usage":
            await _event(send, _usage_chunk(number, model, body, len(tokens)))
        # Counted before [DONE] leaves, so a client that has read [DONE] sees `completed` grown.
        self._count(disconnect=False)
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


# ---------------------------------------------------------------------- wire format


async def _json(
    send: Send, status: int, payload: object, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})


async def _start_stream(send: Send) -> None:
    headers = [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})


async def _event(send: Send, payload: dict[str, Any]) -> None:
    data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    await send({"type": "http.response.body", "body": data, "more_body": True})


def _chunk(
    number: int,
    model: str,
    token: str | None,
    *,
    first: bool = False,
    finish_reason: str | None = None,
    tool_call: dict[str, Any] | None = None,
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if first:
        delta["role"] = "assistant"
    if token is not None:
        delta["content"] = token
    if tool_call is not None:
        delta["tool_calls"] = [tool_call]
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _usage_chunk(
    number: int, model: str, body: dict[str, Any], completion_tokens: int
) -> dict[str, Any]:
    prompt_tokens = sum(
        len(tokens_of(str(message.get("content", ""))))
        for message in body.get("messages", [])
        if isinstance(message, dict)
    )
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    texts = body.get("input", [])
    texts = [texts] if isinstance(texts, str) else list(texts)
    dimensions = int(body.get("dimensions") or 8) + (body.get("model") == "wrong-dimensions")
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": [
                byte / 255 - 0.5
                for byte in hashlib.shake_128(str(text).encode()).digest(dimensions)
            ],
        }
        for index, text in enumerate(texts)
    ]
    tokens = sum(len(tokens_of(str(text))) for text in texts)
    return {
        "object": "list",
        "model": body.get("model"),
        "data": data[::-1],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _completion(number: int, model: str, answer: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": "stop",
            }
        ],
    }


# ---------------------------------------------------------------------- fixture


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A started fake LLM server (api key "test-key"), stopped after the test."""
    with FakeLLM() as server:
        yield server


ChatClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def chat_client(fake_llm: FakeLLM, people: People) -> ChatClient:
    """A logged-in client ("plain") on an app whose LLM is the fake server, with `model` and
    other settings chosen per test."""

    @asynccontextmanager
    async def make(model: str = "echo", **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        changes = {"llm_base_url": fake_llm.base_url, "llm_api_key": "test-key", **settings}
        app = await build_app(llm_model=model, **changes)
        async with client_for(app) as client:
            await log_in_for_api(client, "plain")
            yield client

    return make
