"""The chat: pages for people, and a JSON + Server-Sent Events API for programs."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_400_BAD_REQUEST,
    HTTP_409_CONFLICT,
)

from project.accounts.guards import requires_login
from project.accounts.sessions import CurrentUser
from project.chat.markdown import render_markdown
from project.chat.providers import provider_for
from project.chat.schemas import (
    ConversationOut,
    ConversationWithMessages,
    MessageIn,
    MessageOut,
    NewConversation,
    RenameForm,
)
from project.chat.service import (
    MAX_MESSAGE_LENGTH,
    ReplyInProgress,
    owned_conversation,
    run_reply,
    start_reply,
)
from project.chat.tables import DEFAULT_TITLE, Conversation, Message
from project.settings import Settings

UserRequest = Request[CurrentUser, str, Any]
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


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


async def _create(user_id: int, title: str) -> int:
    now = datetime.datetime.now(datetime.UTC)
    rows = await Conversation.insert(
        Conversation(
            owner=user_id,
            title=title.strip()[:200] or DEFAULT_TITLE,
            created_at=now,
            updated_at=now,
        )
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
    request: UserRequest, conversation_id: FromPath[int], settings: NamedDependency[Settings]
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
    request: UserRequest, conversation_id: FromPath[int], data: Annotated[RenameForm, Form]
) -> Redirect:
    await _conversation(request, conversation_id)
    title = data.title.strip()[:200] or DEFAULT_TITLE
    await Conversation.update({Conversation.title: title}).where(Conversation.id == conversation_id)
    return Redirect(f"/chat/{conversation_id}", status_code=303)


@post("/chat/{conversation_id:int}/delete", guards=[requires_login], include_in_schema=False)
async def chat_delete(request: UserRequest, conversation_id: FromPath[int]) -> Redirect:
    await _conversation(request, conversation_id)
    await Conversation.delete().where(Conversation.id == conversation_id)
    return Redirect("/chat", status_code=303)


# API ------------------------------------------------------------------------------------------


@get("/api/chat/conversations", guards=[requires_login], tags=["chat"])
async def list_conversations(request: UserRequest) -> list[ConversationOut]:
    """Your conversations, most recent first."""
    return await _conversations(_user(request).id)


@post(
    "/api/chat/conversations", guards=[requires_login], tags=["chat"], status_code=HTTP_201_CREATED
)
async def create_conversation(
    request: UserRequest, data: JSONBody[NewConversation]
) -> ConversationWithMessages:
    """Start a conversation."""
    return await _with_messages(request, await _create(_user(request).id, data.title))


@get("/api/chat/conversations/{conversation_id:int}", guards=[requires_login], tags=["chat"])
async def get_conversation(
    request: UserRequest, conversation_id: FromPath[int]
) -> ConversationWithMessages:
    """A conversation with its messages."""
    return await _with_messages(request, conversation_id)


@post(
    "/api/chat/conversations/{conversation_id:int}/messages",
    guards=[requires_login],
    tags=["chat"],
    status_code=HTTP_200_OK,
    response_description="text/event-stream: `token` events (JSON strings), then `error` if the "
    "provider failed, then `done` with the message id, status, provider and rendered HTML",
)
async def post_message(
    request: UserRequest,
    conversation_id: FromPath[int],
    data: JSONBody[MessageIn],
    settings: NamedDependency[Settings],
) -> ServerSentEvent | Response[dict[str, str]]:
    """Send a message; the reply streams back as Server-Sent Events."""
    await _conversation(request, conversation_id)
    text = data.content.strip()
    if not text or len(text) > MAX_MESSAGE_LENGTH:
        return Response(
            {"detail": f"A message needs 1 to {MAX_MESSAGE_LENGTH} characters."},
            status_code=HTTP_400_BAD_REQUEST,
        )
    provider = provider_for(settings)
    try:
        answer_id, history = await start_reply(conversation_id, text, provider)
    except ReplyInProgress:
        return Response(
            {"detail": "A reply in this conversation is still being written; wait for it to end."},
            status_code=HTTP_409_CONFLICT,
        )

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
