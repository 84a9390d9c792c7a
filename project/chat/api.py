"""`/api/chat`: the chat as JSON for programs, a reply streamed back as Server-Sent Events.
Logged-in users only, each seeing their own conversations (with the session cookie and the CSRF
token in the `x-site-csrf` header for writes, as the chat page's script does)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.openapi import ResponseSpec
from litestar.params import Body, FromPath
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_409_CONFLICT,
    HTTP_429_TOO_MANY_REQUESTS,
)

from bandstand.accounts.guards import current_user, requires_login
from bandstand.accounts.schemas import LOGIN_AND_CSRF_REQUIRED, LOGIN_REQUIRED, refusal
from bandstand.accounts.sessions import CurrentUser
from bandstand.ai.budgets import budget_of
from bandstand.ai.prices import price_of
from bandstand.ai.providers import provider_for
from bandstand.ai.tools import Tool, ToolUser
from bandstand.ids import RowId
from bandstand.settings import Settings
from project.chat import queries
from project.chat.schemas import (
    ConversationOut,
    ConversationWithMessages,
    MessageIn,
    NewConversation,
    ReplyEvent,
)
from project.chat.service import (
    MAX_MESSAGE_LENGTH,
    Metering,
    ReplyInProgress,
    Tools,
    run_reply,
    start_reply,
)

UserRequest = Request[CurrentUser, str, Any]
ConversationId = RowId
# The API's bodies refuse fields they don't know (forbid_unknown_fields); the schema says so.
StrictJSON = Body(media_type=RequestEncodingType.JSON, schema_extra={"additionalProperties": False})
NOT_FOUND = {404: refusal("You have no conversation with this id.")}
REPLY_STREAM = ResponseSpec(
    ReplyEvent,
    media_type="text/event-stream",
    description="text/event-stream: a `notice` once 80% of the user's AI budget is used, "
    "`token` events (JSON strings), a `tool_call` and its `tool_result` for each tool the model "
    "calls, then `error` if the provider failed or a `notice` if the answer stopped at the "
    "budget's limit, then `done` with the message id, status, provider and rendered HTML",
    generate_examples=False,
)
REPLY_IN_PROGRESS = refusal("A reply in this conversation is still being written.")
BUDGET_SPENT = refusal("Your daily AI budget is spent (10,000 of 10,000 tokens). It renews …")


@get("/api/chat/conversations", guards=[requires_login], tags=["chat"], responses=LOGIN_REQUIRED)
async def list_conversations(request: UserRequest) -> list[ConversationOut]:
    """Your conversations, most recent first."""
    return await queries.conversations(current_user(request).id)


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
    user_id = current_user(request).id
    return await queries.with_messages(user_id, await queries.create(user_id, data.title))


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
    return await queries.with_messages(current_user(request).id, conversation_id)


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
        HTTP_429_TOO_MANY_REQUESTS: BUDGET_SPENT,
    },
)
async def post_message(
    request: UserRequest,
    conversation_id: FromPath[ConversationId],
    data: Annotated[MessageIn, StrictJSON],
    settings: NamedDependency[Settings],
    ai_tools: NamedDependency[Mapping[str, Tool[Any]]],
) -> ServerSentEvent:
    """Send a message; the reply streams back as Server-Sent Events. Refused (429) once the
    user's AI budget is spent."""
    user = current_user(request)
    user_id = user.id
    await queries.own_conversation(user_id, conversation_id)
    text = data.content.strip()
    # The length as sent, as the schema says. Refusals are Litestar's shape, as the schema says.
    if not text or len(data.content) > MAX_MESSAGE_LENGTH:
        raise ClientException(f"A message needs 1 to {MAX_MESSAGE_LENGTH} characters.")
    if "\0" in text:  # PostgreSQL cannot store it; SQLite could: refused on both
        raise ClientException("A message cannot contain the NUL character.")
    budget = await budget_of(user_id, settings)
    if budget.spent:
        raise ClientException(budget.refusal, status_code=HTTP_429_TOO_MANY_REQUESTS)
    provider = provider_for(settings)
    try:
        answer_id, history = await start_reply(conversation_id, text, provider)
    except ReplyInProgress:
        raise ClientException(
            "A reply in this conversation is still being written; wait for it to end.",
            status_code=HTTP_409_CONFLICT,
        ) from None

    metering = Metering(user_id, settings, budget, price_of(settings.ai_prices, provider.model))
    tools = Tools(ai_tools, ToolUser(user_id, is_staff=user.is_staff))

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        async for event in run_reply(answer_id, history, provider, metering, tools):
            yield ServerSentEventMessage(
                event=event.kind, data=msgspec.json.encode(event.data).decode()
            )

    return ServerSentEvent(events())


ROUTES = [list_conversations, create_conversation, get_conversation, post_message]
