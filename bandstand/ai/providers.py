"""Where answers come from: any OpenAI-compatible chat-completions API, streamed, or the
built-in offline provider when no API key is set. Each call reports what it used in a `Usage`,
which the call log (bandstand/ai/calls.py) records and the budgets count. A call offered tools
(bandstand/ai/tools.py) streams text and then, if the model asks for them, `ToolCall`s."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio
import httpx
from httpx_sse import EventSource

from bandstand.ai.tools import ToolCall
from bandstand.settings import Settings

# [{"role": "user", "content": "..."}, ...], as the chat-completions API takes them: with an
# assistant's `tool_calls`, and `tool` messages answering them.
ChatHistory = Sequence[dict[str, Any]]
ToolSpecs = Sequence[dict[str, Any]]  # each Tool.spec()

# Building a TLS context reads the CA bundle from disk: once, at import, rather than in every
# request that opens a client.
TLS_CONTEXT = httpx.create_ssl_context()


# For a provider that does not report usage: OpenAI's rule of thumb for English text.
CHARACTERS_PER_TOKEN = 4


class ProviderError(Exception):
    """The provider failed; the message is for the person in the chat."""


@dataclass
class Usage:
    """What one call used, filled in while it streams. `estimated` while the provider has not
    reported its count (some OpenAI-compatible servers never do); `at_limit` once the answer
    stopped at the `max_tokens` it was given."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = True
    at_limit: bool = False

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARACTERS_PER_TOKEN)


def estimate_prompt_tokens(history: ChatHistory) -> int:
    return sum(
        estimate_tokens(str(message.get("content") or ""))
        + (estimate_tokens(json.dumps(calls)) if (calls := message.get("tool_calls")) else 0)
        for message in history
    )


class Provider(Protocol):
    name: str
    model: str

    def stream(
        self,
        history: ChatHistory,
        usage: Usage,
        max_tokens: int | None = None,
        tools: ToolSpecs = (),
    ) -> AsyncIterator[str | ToolCall]: ...


class OfflineProvider:
    """A deterministic answer, streamed at a visible pace: the demo works with no network."""

    name = "offline demo provider"
    model = "offline"

    def __init__(self, token_delay: float) -> None:
        self.token_delay = token_delay

    async def stream(
        self,
        history: ChatHistory,
        usage: Usage,
        max_tokens: int | None = None,
        tools: ToolSpecs = (),
    ) -> AsyncIterator[str | ToolCall]:
        """Its tokens are words: each counts as one, and `max_tokens` stops it after as many.
        A message that names a tool it is offered calls that tool, with the rest of the
        message as its first argument; a tool's answer is read back."""
        usage.prompt_tokens = estimate_prompt_tokens(history)
        last = history[-1] if history else {"role": "user", "content": ""}
        if call := _offline_tool_call(last, tools, len(history)):
            usage.completion_tokens = estimate_tokens(call.arguments)
            yield call
            return
        if last["role"] == "tool":
            answer = f"The tool answered: {last['content']}"
        else:
            words = str(last["content"]).split() or ["nothing"]
            answer = (
                f"This is the **offline** provider (no `LLM_API_KEY` is set). You wrote "
                f"{len(words)} words; the first was *{words[0]}*.\n\n"
                "Set `LLM_API_KEY` (and `LLM_BASE_URL`, `LLM_MODEL`) to talk to a real model."
            )
        for index, word in enumerate(answer.split(" ")):
            if max_tokens is not None and index >= max_tokens:
                usage.at_limit = True
                return
            await anyio.sleep(self.token_delay)
            usage.completion_tokens += 1
            yield word if index == 0 else f" {word}"


def _offline_tool_call(message: dict[str, Any], tools: ToolSpecs, number: int) -> ToolCall | None:
    """The call a user's message asks for by naming a tool: "search_products lamp"."""
    if message["role"] != "user":
        return None
    words = str(message["content"]).split()
    for spec in tools:
        function = spec["function"]
        if function["name"] in words:
            parameters = function["parameters"]
            first = (parameters.get("required") or list(parameters.get("properties", {})))[:1]
            rest = " ".join(word for word in words if word != function["name"])
            arguments = {first[0]: rest} if first else {}
            return ToolCall(f"call_offline_{number}", function["name"], json.dumps(arguments))
    return None


def refusal_of(response: httpx.Response, body: bytes, key_setting: str = "LLM_API_KEY") -> str:
    """What a provider's error answer says, for a person: its status, in words, and its
    message."""
    try:
        detail = str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        detail = body.decode(errors="replace")[:200]
    status = response.status_code
    if status in (401, 403):
        what = f"The provider refused the API key; check {key_setting}"
    elif status == 429:
        what = "The provider is limiting requests; try again in a moment"
    elif status >= 500:
        what = "The provider failed"
    else:
        what = "The provider refused the request"
    return f"{what} ({status}: {detail})"


class _Chunks:
    """A chat-completions stream, chunk by chunk: its text, its tool calls (which arrive in
    pieces, by index), and its usage and finish reason, which go to `usage`."""

    def __init__(self, usage: Usage) -> None:
        self.usage = usage
        self.calls: dict[int, dict[str, str]] = {}

    def text(self, data: str) -> list[str]:
        try:
            chunk = json.loads(data)
            choices = chunk["choices"]
            tokens: list[str] = []
            for choice in choices:
                delta = choice.get("delta") or {}
                if token := delta.get("content"):
                    tokens.append(token)
                for piece in delta.get("tool_calls") or ():
                    self._add_call_piece(piece)
                if choice.get("finish_reason") == "length":
                    self.usage.at_limit = True
            if reported := chunk.get("usage"):
                self.usage.prompt_tokens = int(reported["prompt_tokens"])
                self.usage.completion_tokens = int(reported["completion_tokens"])
                self.usage.estimated = False
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ProviderError(
                "The provider sent something other than a chat-completions stream; check "
                "LLM_BASE_URL."
            ) from None
        return tokens

    def _add_call_piece(self, piece: dict[str, Any]) -> None:
        call = self.calls.setdefault(int(piece["index"]), {"id": "", "name": "", "arguments": ""})
        function = piece.get("function") or {}
        call["id"] += piece.get("id") or ""
        call["name"] += function.get("name") or ""
        call["arguments"] += function.get("arguments") or ""

    def tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(call["id"] or f"call_{index}", call["name"], call["arguments"])
            for index, call in sorted(self.calls.items())
        ]


class OpenAICompatibleProvider:
    def __init__(self, settings: Settings) -> None:
        self.base_url = settings.llm_base_url.rstrip("/")
        self.api_key = settings.llm_api_key
        self.model = settings.llm_model
        self.timeout = httpx.Timeout(
            settings.llm_read_timeout_seconds, connect=settings.llm_connect_timeout_seconds
        )
        self.name = f"{self.model} at {urlsplit(self.base_url).hostname}"

    async def stream(
        self,
        history: ChatHistory,
        usage: Usage,
        max_tokens: int | None = None,
        tools: ToolSpecs = (),
    ) -> AsyncIterator[str | ToolCall]:
        request: dict[str, object] = {
            "model": self.model,
            "messages": list(history),
            "stream": True,
            # The count arrives in a last chunk; a server that ignores this is estimated.
            "stream_options": {"include_usage": True},
        }
        if max_tokens is not None:
            request["max_tokens"] = max_tokens
        if tools:
            request["tools"] = list(tools)
        headers = {"authorization": f"Bearer {self.api_key}"}
        usage.prompt_tokens = estimate_prompt_tokens(history)
        chunks = _Chunks(usage)
        characters = 0
        try:
            # Leaving this block, by cancellation included, closes the upstream connection:
            # a reader who goes away stops the provider's work too.
            async with (
                httpx.AsyncClient(timeout=self.timeout, verify=TLS_CONTEXT) as client,
                client.stream(
                    "POST", f"{self.base_url}/chat/completions", json=request, headers=headers
                ) as response,
            ):
                if response.status_code != 200:
                    raise ProviderError(refusal_of(response, await response.aread()))
                async for event in EventSource(response).aiter_sse():
                    if event.data == "[DONE]":
                        for call in chunks.tool_calls():
                            if usage.estimated:
                                usage.completion_tokens += estimate_tokens(call.arguments)
                            yield call
                        return
                    for token in chunks.text(event.data):
                        characters += len(token)
                        if usage.estimated:
                            usage.completion_tokens = math.ceil(characters / CHARACTERS_PER_TOKEN)
                        yield token
        except httpx.TimeoutException:
            raise ProviderError("The provider did not answer in time.") from None
        except httpx.TransportError:
            raise ProviderError("The connection to the provider broke off mid-answer.") from None
        raise ProviderError("The provider's answer was cut off before its end.")


def provider_for(settings: Settings) -> Provider:
    if not settings.llm_api_key:
        return OfflineProvider(settings.llm_offline_token_delay_ms / 1000)
    return OpenAICompatibleProvider(settings)
