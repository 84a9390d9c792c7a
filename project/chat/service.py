"""A reply's life: written down before the first token, kept whatever happens after.

The user's message and an empty "streaming" answer are saved first; tokens go to the reader as
they arrive; the answer is saved at the end — complete, limited (stopped at the user's AI
budget), failed (with the provider's error) or interrupted (the reader left) — with whatever
text had arrived, and the call is written to the AI call log.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from piccolo.engine.finder import engine_finder

from bandstand.ai.budgets import UNLIMITED, Budget
from bandstand.ai.calls import Call, Outcome
from bandstand.ai.prices import FREE, Price
from bandstand.ai.providers import (
    ChatHistory,
    Provider,
    ProviderError,
    estimate_prompt_tokens,
)
from bandstand.ai.tools import Tool, ToolCall, ToolResult, ToolUser, run_tool
from bandstand.database.errors import describe_connection_error, is_unavailable
from bandstand.settings import Settings
from project.chat.markdown import render_markdown
from project.chat.tables import DEFAULT_TITLE, Conversation, Message

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 8000
# A "streaming" answer older than this was orphaned by a crash; it no longer blocks new messages.
STALE_STREAM = datetime.timedelta(minutes=10)
# How long a finished reply waits for the database to come back before it is given up.
SAVE_RETRY_SECONDS = 15.0
SAVE_RETRY_INTERVAL_SECONDS = 0.5
UNSAVED = "The reply could not be saved: the database is unavailable. Send it again shortly."
LIMITED = "The answer stopped here: it reached the limit of your AI budget."
# Requests to the model that may ask for tools; the one after them is offered none, so it
# answers with what it has.
MAX_TOOL_ROUNDS = 3


class ReplyInProgress(Exception):
    """A reply in this conversation is still being written."""


@dataclass(frozen=True)
class Event:
    kind: str  # "notice", "token", "tool_call", "tool_result", "error" or "done"
    data: Any


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def owned_conversation(conversation_id: int, user_id: int) -> dict[str, Any] | None:
    return await (
        Conversation.select()
        .where((Conversation.id == conversation_id) & (Conversation.owner == user_id))
        .first()
    )


async def start_reply(
    conversation_id: int, text: str, provider: Provider
) -> tuple[int, list[dict[str, str]]]:
    """Save the user's message and an empty answer; returns the answer's id and the history."""
    engine = engine_finder()
    assert engine is not None
    async with engine.transaction():
        if await Message.exists().where(
            (Message.conversation == conversation_id)
            & (Message.status == "streaming")
            & (Message.created_at > _now() - STALE_STREAM)
        ):
            raise ReplyInProgress
        now = _now()
        await Message.insert(
            Message(conversation=conversation_id, role="user", content=text, created_at=now)
        )
        answer = await Message.insert(
            Message(
                conversation=conversation_id,
                role="assistant",
                content="",
                provider=provider.name,
                status="streaming",
                created_at=now,
            )
        )
        await Conversation.update({Conversation.updated_at: now}).where(
            Conversation.id == conversation_id
        )
        await Conversation.update({Conversation.title: text[:60]}).where(
            (Conversation.id == conversation_id) & (Conversation.title == DEFAULT_TITLE)
        )
        rows = await (
            Message.select(Message.role, Message.content)
            .where((Message.conversation == conversation_id) & (Message.status == "complete"))
            .order_by(Message.id)
        )
    history = [{"role": row["role"], "content": row["content"]} for row in rows]
    return int(answer[0]["id"]), history


@dataclass(frozen=True)
class Metering:
    """Who the calls are logged for, and what the user's budget lets each one use."""

    user_id: int | None
    settings: Settings
    budget: Budget = UNLIMITED
    price: Price = FREE

    def max_tokens(self, messages: ChatHistory, used: int) -> int | None:
        """What the next call may use, after `used` tokens in this reply's earlier calls."""
        return self.budget.max_completion_tokens(
            self.price, estimate_prompt_tokens(messages) + used
        )


@dataclass(frozen=True)
class Tools:
    """The tools the model is offered, and the user they run for."""

    available: Mapping[str, Tool[Any]]
    user: ToolUser


NO_TOOLS = Tools({}, ToolUser(0, is_staff=False))


async def run_reply(
    answer_id: int,
    history: list[dict[str, Any]],
    provider: Provider,
    metering: Metering,
    tools: Tools = NO_TOOLS,
) -> AsyncGenerator[Event, None]:
    """The answer's events. Each request to the provider is a call in the AI call log; while
    the model asks for tools (at most MAX_TOOL_ROUNDS times), they run and it is asked again."""
    reply = _Reply()
    # The last call's outcome; the message's status may still become "failed" if it cannot be
    # saved.
    outcome: Outcome = "interrupted"
    status, error = "interrupted", ""
    saved = False
    messages = list(history)
    specs = [tool.spec() for tool in tools.available.values()]
    try:
        if metering.budget.warning:
            yield Event("notice", metering.budget.warning)
        try:
            for round_number in range(MAX_TOOL_ROUNDS + 1):
                reply.call = Call(metering.user_id, "chat", provider.model)
                usage = reply.call.usage
                offered = specs if round_number < MAX_TOOL_ROUNDS else ()
                max_tokens = metering.max_tokens(messages, reply.tokens)
                text: list[str] = []
                calls: list[ToolCall] = []
                async for item in provider.stream(messages, usage, max_tokens, offered):
                    if isinstance(item, ToolCall):
                        calls.append(item)
                    else:
                        text.append(item)
                        reply.parts.append(item)
                        yield Event("token", item)
                outcome = "limited" if usage.at_limit else "complete"
                await reply.log(metering.settings, outcome)
                if not calls or outcome == "limited":
                    break
                messages.append(_asked_for(text, calls))
                for call in calls:
                    yield Event("tool_call", {"id": call.id, "name": call.name})
                    result = await run_tool(tools.available, call, tools.user)
                    reply.used.append(_tool_use(result))
                    yield Event("tool_result", {"id": call.id, **reply.used[-1]})
                    messages.append(
                        {"role": "tool", "tool_call_id": call.id, "content": result.content}
                    )
        except ProviderError as failure:
            outcome, error = "failed", str(failure)
            await reply.log(metering.settings, outcome, error)
            yield Event("error", error)
        status = outcome
        if status == "limited":
            yield Event("notice", LIMITED)
        # Saved before `done`: a reply the reader was told is complete is stored.
        saved = await _save_reply(answer_id, reply, status, error)
        if not saved:
            status = "failed"
            yield Event("error", UNSAVED)
        yield Event(
            "done",
            {
                "message_id": answer_id,
                "status": status,
                "provider": provider.name,
                "html": str(render_markdown("".join(reply.parts))),
            },
        )
    finally:
        # Shielded: the reader may have gone, and this generator be being cancelled.
        with anyio.CancelScope(shield=True):
            if not saved:
                # The reader has gone, or the save failed: save what arrived.
                await _save_reply(answer_id, reply, "interrupted", error)
            await reply.log(metering.settings, "interrupted")  # a call still going, if any


class _Reply:
    """What an answer has gathered so far, over its calls."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.used: list[dict[str, str]] = []  # the tools it called: Message.tools
        self.tokens = 0  # what its finished calls used
        self.call: Call | None = None  # the call going on

    async def log(self, settings: Settings, outcome: Outcome, error: str = "") -> None:
        call, self.call = self.call, None
        if call is None:
            return
        self.tokens += call.usage.tokens
        try:
            await call.record(settings, outcome, error)
        # The answer is saved; a call log that cannot be written must not turn it into a
        # failure.
        except Exception as failure:  # noqa: BLE001
            logger.warning("chat: AI call not logged: %s", describe_connection_error(failure))


def _asked_for(text: list[str], calls: list[ToolCall]) -> dict[str, Any]:
    """The model's turn that asked for `calls`, as the next request gives it back."""
    return {
        "role": "assistant",
        "content": "".join(text) or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in calls
        ],
    }


def _tool_use(result: ToolResult) -> dict[str, str]:
    """A tool's call and answer as the page shows them (Message.tools)."""
    return {
        "name": result.call.name,
        "arguments": result.call.arguments,
        "content": result.content,
        "error": result.error,
    }


async def _save_reply(answer_id: int, reply: _Reply, status: str, error: str) -> bool:
    """Write the reply; while the database is away (a restart, a failover), try again for a
    while. A reply left "streaming" would block its conversation for STALE_STREAM."""
    # Without NUL, which a model may send but PostgreSQL cannot store.
    content = "".join(reply.parts).replace("\0", "")
    tools = json.dumps([{k: v.replace("\0", "") for k, v in use.items()} for use in reply.used])
    deadline = anyio.current_time() + SAVE_RETRY_SECONDS
    while True:
        try:
            await Message.update(
                {
                    Message.content: content,
                    Message.status: status,
                    Message.error: error,
                    Message.tools: tools,
                }
            ).where(Message.id == answer_id)
        # Whatever it is, the stream must end with an event, not a cut connection.
        except Exception as failure:  # noqa: BLE001
            if not is_unavailable(failure) or anyio.current_time() > deadline:
                logger.warning(
                    "chat: reply %s not saved: %s", answer_id, describe_connection_error(failure)
                )
                return False
            await anyio.sleep(SAVE_RETRY_INTERVAL_SECONDS)
        else:
            return True
