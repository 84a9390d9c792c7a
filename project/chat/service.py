"""A reply's life: written down before the first token, kept whatever happens after.

The user's message and an empty "streaming" answer are saved first; tokens go to the reader as
they arrive; the answer is saved at the end — complete, limited (stopped at the user's AI
budget), failed (with the provider's error) or interrupted (the reader left) — with whatever
text had arrived, and the call is written to the AI call log.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import anyio
from piccolo.engine.finder import engine_finder

from bandstand.ai.calls import Call, Outcome
from bandstand.ai.providers import Provider, ProviderError
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


class ReplyInProgress(Exception):
    """A reply in this conversation is still being written."""


@dataclass(frozen=True)
class Event:
    kind: str  # "notice", "token", "error" or "done"
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
    """What the call may use (`max_tokens`, from the user's budget) and what it is logged as."""

    call: Call
    settings: Settings
    max_tokens: int | None = None
    warning: str = ""


async def run_reply(
    answer_id: int, history: list[dict[str, str]], provider: Provider, metering: Metering
) -> AsyncGenerator[Event, None]:
    parts: list[str] = []
    # The provider's outcome, logged with the call; the message's status may still become
    # "failed" if it cannot be saved.
    outcome: Outcome = "interrupted"
    status, error = "interrupted", ""
    saved = False
    usage = metering.call.usage
    try:
        if metering.warning:
            yield Event("notice", metering.warning)
        try:
            async for token in provider.stream(history, usage, metering.max_tokens):
                parts.append(token)
                yield Event("token", token)
            outcome = "limited" if usage.at_limit else "complete"
        except ProviderError as failure:
            outcome, error = "failed", str(failure)
            yield Event("error", error)
        status = outcome
        if status == "limited":
            yield Event("notice", LIMITED)
        # Saved before `done`: a reply the reader was told is complete is stored.
        saved = await _save_reply(answer_id, parts, status, error)
        if not saved:
            status = "failed"
            yield Event("error", UNSAVED)
        yield Event(
            "done",
            {
                "message_id": answer_id,
                "status": status,
                "provider": provider.name,
                "html": str(render_markdown("".join(parts))),
            },
        )
    finally:
        # Shielded: the reader may have gone, and this generator be being cancelled.
        with anyio.CancelScope(shield=True):
            if not saved:
                # The reader has gone, or the save failed: save what arrived.
                await _save_reply(answer_id, parts, "interrupted", error)
            await _log_call(metering, outcome, error)


async def _log_call(metering: Metering, outcome: Outcome, error: str) -> None:
    try:
        await metering.call.record(metering.settings, outcome, error)
    # The answer is saved; a call log that cannot be written must not turn it into a failure.
    except Exception as failure:  # noqa: BLE001
        logger.warning("chat: AI call not logged: %s", describe_connection_error(failure))


async def _save_reply(answer_id: int, parts: list[str], status: str, error: str) -> bool:
    """Write the reply; while the database is away (a restart, a failover), try again for a
    while. A reply left "streaming" would block its conversation for STALE_STREAM."""
    # Without NUL, which a model may send but PostgreSQL cannot store.
    content = "".join(parts).replace("\0", "")
    deadline = anyio.current_time() + SAVE_RETRY_SECONDS
    while True:
        try:
            await Message.update(
                {Message.content: content, Message.status: status, Message.error: error}
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
