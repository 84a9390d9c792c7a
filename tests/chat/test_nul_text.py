"""Chat text with NUL, which PostgreSQL cannot store (SQLite can): a message is refused, a
title loses it, and an answer that carries one is saved without it instead of failing."""

from collections.abc import AsyncIterator

import httpx

from bandstand.ai.providers import ChatHistory, ToolSpecs, Usage
from bandstand.ai.tools import ToolCall
from bandstand.settings import get_settings
from project.chat.service import Metering, run_reply, start_reply
from project.chat.tables import Conversation, Message
from tests.chat.conftest import new_conversation, send


async def test_a_message_with_nul_is_refused(chatter: httpx.AsyncClient) -> None:
    conversation = await new_conversation(chatter)
    response = await send(chatter, conversation, "Hel\0lo")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert await Message.count() == 0


async def test_a_title_with_nul_is_kept_without_it(chatter: httpx.AsyncClient) -> None:
    conversation = await new_conversation(chatter, "My\0 notes")
    token = chatter.headers["x-site-csrf"]
    await chatter.post(
        f"/chat/{conversation}/rename", data={"title": "Re\0named", "_csrf_token": token}
    )
    titles = await Conversation.select(Conversation.title).output(as_list=True)
    assert titles == ["Renamed"]


class NulProvider:
    """A model that answers with a NUL in its text (a real one may)."""

    name = "nul provider"
    model = "nul"

    async def stream(
        self,
        history: ChatHistory,
        usage: Usage,
        max_tokens: int | None = None,
        tools: ToolSpecs = (),
    ) -> AsyncIterator[str | ToolCall]:
        for token in ("It ", "is\0", " done."):
            yield token


async def test_an_answer_with_nul_is_saved_without_it(chatter: httpx.AsyncClient) -> None:
    conversation = await new_conversation(chatter)
    provider = NulProvider()
    answer, history = await start_reply(conversation, "Say it", provider)

    metering = Metering(None, get_settings())
    events = [event async for event in run_reply(answer, history, provider, metering)]

    assert events[-1].kind == "done"
    saved = (
        await Message.select(Message.content, Message.status).where(Message.id == answer).first()
    )
    assert saved == {"content": "It is done.", "status": "complete"}
