"""The chat's pages: conversations for people, with the reply streamed from the API
(project/chat/api.py) by static/js/chat.js."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from bandstand.accounts.guards import current_user, requires_login
from bandstand.accounts.sessions import CurrentUser
from bandstand.ai.budgets import budget_of
from bandstand.ai.providers import provider_for
from bandstand.ids import RowId
from bandstand.settings import Settings
from project.chat import api, queries
from project.chat.markdown import render_markdown
from project.chat.schemas import RenameForm
from project.chat.service import MAX_MESSAGE_LENGTH
from project.chat.tables import DEFAULT_TITLE, Conversation

UserRequest = Request[CurrentUser, str, Any]
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


@get("/chat", guards=[requires_login], include_in_schema=False)
async def chat_index(request: UserRequest) -> Template:
    conversations = await queries.conversations(current_user(request).id)
    return Template("chat/index.html", context={"conversations": conversations})


@post("/chat", guards=[requires_login], include_in_schema=False)
async def chat_new(request: UserRequest) -> Redirect:
    conversation_id = await queries.create(current_user(request).id, DEFAULT_TITLE)
    return Redirect(f"/chat/{conversation_id}", status_code=303)


@get("/chat/{conversation_id:int}", guards=[requires_login], include_in_schema=False)
async def chat_page(
    request: UserRequest,
    conversation_id: FromPath[RowId],
    settings: NamedDependency[Settings],
) -> Template:
    user_id = current_user(request).id
    budget = await budget_of(user_id, settings)
    context = {
        "conversation": await queries.own_conversation(user_id, conversation_id),
        "conversations": await queries.conversations(user_id),
        "messages": await queries.messages(conversation_id),
        "provider": provider_for(settings).name,
        "max_length": MAX_MESSAGE_LENGTH,
        "render_markdown": render_markdown,
        "budget_notice": budget.refusal if budget.spent else budget.warning,
    }
    return Template("chat/conversation.html", context=context)


@post("/chat/{conversation_id:int}/rename", guards=[requires_login], include_in_schema=False)
async def chat_rename(
    request: UserRequest,
    conversation_id: FromPath[RowId],
    data: Annotated[RenameForm, Form],
) -> Redirect:
    await queries.own_conversation(current_user(request).id, conversation_id)
    await Conversation.update({Conversation.title: queries.clean_title(data.title)}).where(
        Conversation.id == conversation_id
    )
    return Redirect(f"/chat/{conversation_id}", status_code=303)


@post("/chat/{conversation_id:int}/delete", guards=[requires_login], include_in_schema=False)
async def chat_delete(request: UserRequest, conversation_id: FromPath[RowId]) -> Redirect:
    await queries.own_conversation(current_user(request).id, conversation_id)
    await Conversation.delete().where(Conversation.id == conversation_id)
    return Redirect("/chat", status_code=303)


ROUTES: list[ControllerRouterHandler] = [
    *api.ROUTES,
    chat_index,
    chat_new,
    chat_page,
    chat_rename,
    chat_delete,
]
