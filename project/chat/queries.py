"""The chat's reads and writes of conversations, for its pages and its API."""

from __future__ import annotations

import datetime
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException

from project.chat.schemas import ConversationOut, ConversationWithMessages, MessageOut
from project.chat.service import owned_conversation
from project.chat.tables import DEFAULT_TITLE, Conversation, Message


async def own_conversation(user_id: int, conversation_id: int) -> dict[str, Any]:
    """The user's conversation; someone else's is as absent as a missing one (404)."""
    conversation = await owned_conversation(conversation_id, user_id)
    if conversation is None:
        raise NotFoundException("No such conversation.")
    return conversation


async def conversations(user_id: int) -> list[ConversationOut]:
    rows = await (
        Conversation.select(Conversation.id, Conversation.title, Conversation.updated_at)
        .where(Conversation.owner == user_id)
        .order_by(Conversation.updated_at, ascending=False)
    )
    return msgspec.convert(rows, list[ConversationOut])


async def messages(conversation_id: int) -> list[MessageOut]:
    rows = await (
        Message.select(
            Message.id,
            Message.role,
            Message.content,
            Message.provider,
            Message.status,
            Message.error,
            Message.tools,
        )
        .where(Message.conversation == conversation_id)
        .order_by(Message.id)
        .output(load_json=True)
    )
    return msgspec.convert(rows, list[MessageOut])


async def with_messages(user_id: int, conversation_id: int) -> ConversationWithMessages:
    conversation = await own_conversation(user_id, conversation_id)
    return ConversationWithMessages(
        id=conversation["id"],
        title=conversation["title"],
        messages=await messages(conversation_id),
    )


def clean_title(text: str) -> str:
    # A label, so NUL (which PostgreSQL cannot store) is dropped rather than refused.
    return text.replace("\0", "").strip()[:200] or DEFAULT_TITLE


async def create(user_id: int, title: str) -> int:
    now = datetime.datetime.now(datetime.UTC)
    rows = await Conversation.insert(
        Conversation(owner=user_id, title=clean_title(title), created_at=now, updated_at=now)
    )
    return int(rows[0]["id"])
