"""A reply's life: written down before the first token, kept whatever happens after.

The user's message and an empty "streaming" answer are saved first; tokens go to the reader as
they arrive; the answer is saved at the end — complete, failed (with the provider's error) or
interrupted (the reader left) — with whatever text had arrived.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from piccolo.engine.finder import engine_finder

from bandstand.database.errors import describe_connection_error, is_unavailable
from project.chat.markdown import render_markdown
from project.chat.providers import Provider, ProviderError
from project.chat.tables import DEFAULT_TITLE, Conversation, Message

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 8000
# A "streaming" answer older than this was orphaned by a crash; it no longer blocks new messages.
STALE_STREAM = datetime.timedelta(minutes=10)
# How long a finished reply waits for the database to come back before it is given up.
SAVE_RETRY_SECONDS = 15.0
SAVE_RETRY_INTERVAL_SECONDS = 0.5
UNSAVED = "The reply could not be saved: the database is unavailable. Send it again shortly."


class ReplyInProgress(Exception):
    """A reply in this conversation is still being written."""


@dataclass(frozen=True)
class Event:
    kind: str  # "token", "error" or "done"
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


async def run_reply(
    answer_id: int, history: list[dict[str, str]], provider: Provider
) -> AsyncIterator[Event]:
    parts: list[str] = []
    status, error = "interrupted", ""
    saved = False
    try:
        try:
            async for token in provider.stream(history):
                parts.append(token)
                yield Event("token", token)
            status = "complete"
        except ProviderError as failure:
            status, error = "failed", str(failure)
            yield Event("error", error)
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
        if not saved:
            # The reader has gone and this generator is being cancelled, or the save failed:
            # save what arrived, shielded so that the cancellation cannot cut the write short.
            with anyio.CancelScope(shield=True):
                await _save_reply(answer_id, parts, "interrupted", error)


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
