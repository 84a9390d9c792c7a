"""The chat: pages for people, and a JSON + Server-Sent Events API for programs."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import Body, FromPath
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT

from bandstand.accounts.guards import requires_login
from bandstand.accounts.schemas import LOGIN_AND_CSRF_REQUIRED, LOGIN_REQUIRED, refusal
from bandstand.accounts.sessions import CurrentUser
from bandstand.ids import RowId
from bandstand.settings import Settings
from project.chat.markdown import render_markdown
from project.chat.providers import provider_for
from project.chat.schemas import (
    ConversationOut,
    ConversationWithMessages,
    MessageIn,
    MessageOut,
    NewConversation,
    RenameForm,
    ReplyEvent,
)
from project.chat.service import (
    MAX_MESSAGE_LENGTH,
    ReplyInProgress,
    owned_conversation,
    run_reply,
    start_reply,
)
from project.chat.tables import DEFAULT_TITLE, Conversation, Message

UserRequest = Request[CurrentUser, str, Any]
Form = Body(media_type=RequestEncodingType.URL_ENCODED)
ConversationId = RowId
# The API's bodies refuse fields they don't know (forbid_unknown_fields); the schema says so.
StrictJSON = Body(media_type=RequestEncodingType.JSON, schema_extra={"additionalProperties": False})
NOT_FOUND = {404: refusal("You have no conversation with this id.")}
REPLY_STREAM = ResponseSpec(
    ReplyEvent,
    media_type="text/event-stream",
    description="text/event-stream: `token` events (JSON strings), then `error` if the provider "
    "failed, then `done` with the message id, status, provider and rendered HTML",
    generate_examples=False,
)
REPLY_IN_PROGRESS = refusal("A reply in this conversation is still being written.")


def _user(request: UserRequest) -> CurrentUser:
    assert request.user is not None  # requires_login
    return request.user


async def _conversation(request: UserRequest, conversation_id: int) -> dict[str, Any]:
    conversation = await owned_conversation(conversation_id, _user(request).id)
    if conversation is None:  # someone else's is as absent as a missing one
        raise NotFoundException("No such conversation.")
    return conversation


async def _conversations(user_id: int) -> list[ConversationOut]:
    rows = await (
        Conversation.select(Conversation.id, Conversation.title, Conversation.updated_at)
        .where(Conversation.owner == user_id)
        .order_by(Conversation.updated_at, ascending=False)
    )
    return msgspec.convert(rows, list[ConversationOut])


async def _messages(conversation_id: int) -> list[MessageOut]:
    rows = await (
        Message.select(
            Message.id,
            Message.role,
            Message.content,
            Message.provider,
            Message.status,
            Message.error,
        )
        .where(Message.conversation == conversation_id)
        .order_by(Message.id)
    )
    return msgspec.convert(rows, list[MessageOut])


async def _with_messages(request: UserRequest, conversation_id: int) -> ConversationWithMessages:
    conversation = await _conversation(request, conversation_id)
    return ConversationWithMessages(
        id=conversation["id"],
        title=conversation["title"],
        messages=await _messages(conversation_id),
    )


def _title(text: str) -> str:
    # A label, so NUL (which PostgreSQL cannot store) is dropped rather than refused.
    return text.replace("\0", "").strip()[:200] or DEFAULT_TITLE


async def _create(user_id: int, title: str) -> int:
    now = datetime.datetime.now(datetime.UTC)
    rows = await Conversation.insert(
        Conversation(owner=user_id, title=_title(title), created_at=now, updated_at=now)
    )
    return int(rows[0]["id"])


# Pages ----------------------------------------------------------------------------------------


@get("/chat", guards=[requires_login], include_in_schema=False)
async def chat_index(request: UserRequest) -> Template:
    return Template(
        "chat/index.html", context={"conversations": await _conversations(_user(request).id)}
    )


@post("/chat", guards=[requires_login], include_in_schema=False)
async def chat_new(request: UserRequest) -> Redirect:
    return Redirect(f"/chat/{await _create(_user(request).id, DEFAULT_TITLE)}", status_code=303)


@get("/chat/{conversation_id:int}", guards=[requires_login], include_in_schema=False)
async def chat_page(
    request: UserRequest,
    conversation_id: FromPath[ConversationId],
    settings: NamedDependency[Settings],
) -> Template:
    conversation = await _conversation(request, conversation_id)
    context = {
        "conversation": conversation,
        "conversations": await _conversations(_user(request).id),
        "messages": await _messages(conversation_id),
        "provider": provider_for(settings).name,
        "max_length": MAX_MESSAGE_LENGTH,
        "render_markdown": render_markdown,
    }
    return Template("chat/conversation.html", context=context)


@post("/chat/{conversation_id:int}/rename", guards=[requires_login], include_in_schema=False)
async def chat_rename(
    request: UserRequest,
    conversation_id: FromPath[ConversationId],
    data: Annotated[RenameForm, Form],
) -> Redirect:
    await _conversation(request, conversation_id)
    await Conversation.update({Conversation.title: _title(data.title)}).where(
        Conversation.id == conversation_id
    )
    return Redirect(f"/chat/{conversation_id}", status_code=303)


@post("/chat/{conversation_id:int}/delete", guards=[requires_login], include_in_schema=False)
async def chat_delete(request: UserRequest, conversation_id: FromPath[ConversationId]) -> Redirect:
    await _conversation(request, conversation_id)
    await Conversation.delete().where(Conversation.id == conversation_id)
    return Redirect("/chat", status_code=303)


# API ------------------------------------------------------------------------------------------


@get("/api/chat/conversations", guards=[requires_login], tags=["chat"], responses=LOGIN_REQUIRED)
async def list_conversations(request: UserRequest) -> list[ConversationOut]:
    """Your conversations, most recent first."""
    return await _conversations(_user(request).id)


@post(
    "/api/chat/conversations",
    guards=[requires_login],
    tags=["chat"],
    status_code=HTTP_201_CREATED,
    responses=LOGIN_AND_CSRF_REQUIRED,
)
async def create_conversation(
    request: UserRequest, data: Annotated[NewConversation, StrictJSON]
) -> ConversationWithMessages:
    """Start a conversation."""
    return await _with_messages(request, await _create(_user(request).id, data.title))


@get(
    "/api/chat/conversations/{conversation_id:int}",
    guards=[requires_login],
    tags=["chat"],
    responses={**LOGIN_REQUIRED, **NOT_FOUND},
)
async def get_conversation(
    request: UserRequest, conversation_id: FromPath[ConversationId]
) -> ConversationWithMessages:
    """A conversation with its messages."""
    return await _with_messages(request, conversation_id)


@post(
    "/api/chat/conversations/{conversation_id:int}/messages",
    guards=[requires_login],
    tags=["chat"],
    status_code=HTTP_200_OK,
    responses={
        HTTP_200_OK: REPLY_STREAM,
        **LOGIN_AND_CSRF_REQUIRED,
        **NOT_FOUND,
        HTTP_409_CONFLICT: REPLY_IN_PROGRESS,
    },
)
async def post_message(
    request: UserRequest,
    conversation_id: FromPath[ConversationId],
    data: Annotated[MessageIn, StrictJSON],
    settings: NamedDependency[Settings],
) -> ServerSentEvent:
    """Send a message; the reply streams back as Server-Sent Events."""
    await _conversation(request, conversation_id)
    text = data.content.strip()
    # The length as sent, as the schema says. Refusals are Litestar's shape, as the schema says.
    if not text or len(data.content) > MAX_MESSAGE_LENGTH:
        raise ClientException(f"A message needs 1 to {MAX_MESSAGE_LENGTH} characters.")
    if "\0" in text:  # PostgreSQL cannot store it; SQLite could: refused on both
        raise ClientException("A message cannot contain the NUL character.")
    provider = provider_for(settings)
    try:
        answer_id, history = await start_reply(conversation_id, text, provider)
    except ReplyInProgress:
        raise ClientException(
            "A reply in this conversation is still being written; wait for it to end.",
            status_code=HTTP_409_CONFLICT,
        ) from None

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        async for event in run_reply(answer_id, history, provider):
            yield ServerSentEventMessage(
                event=event.kind, data=msgspec.json.encode(event.data).decode()
            )

    return ServerSentEvent(events())


ROUTES = [
    chat_index,
    chat_new,
    chat_page,
    chat_rename,
    chat_delete,
    list_conversations,
    create_conversation,
    get_conversation,
    post_message,
]
