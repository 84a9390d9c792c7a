"""The chat against a real OpenAI-compatible streaming server on loopback (the fake LLM)."""

from __future__ import annotations

from typing import Any

import pytest

from bandstand.testing.sse import parse_sse
from project.chat.tables import Message
from tests.chat.conftest import new_conversation, send
from tests.support.fake_llm import ChatClient, FakeLLM


async def saved_answer(conversation: int) -> dict[str, Any]:
    row = await (
        Message.select(Message.content, Message.status, Message.error, Message.provider)
        .where((Message.conversation == conversation) & (Message.role == "assistant"))
        .order_by(Message.id, ascending=False)
        .first()
    )
    assert row is not None
    return row


async def test_tokens_arrive_in_order_and_complete(
    chat_client: ChatClient, fake_llm: FakeLLM
) -> None:
    async with chat_client() as client:
        conversation = await new_conversation(client)
        events = parse_sse((await send(client, conversation, "hello little world")).text)

    tokens = [data for kind, data in events if kind == "token"]
    assert tokens == ["You", " said:", " hello", " little", " world"]
    assert events[-1][0] == "done"
    assert await saved_answer(conversation) == {
        "content": "You said: hello little world",
        "status": "complete",
        "error": "",
        "provider": "echo at 127.0.0.1",
    }
    assert fake_llm.requests[-1]["stream"] is True
    assert fake_llm.requests[-1]["messages"] == [{"role": "user", "content": "hello little world"}]


async def test_the_history_goes_upstream(chat_client: ChatClient, fake_llm: FakeLLM) -> None:
    async with chat_client() as client:
        conversation = await new_conversation(client)
        await send(client, conversation, "first")
        await send(client, conversation, "second")
    assert fake_llm.requests[-1]["messages"] == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "You said: first"},
        {"role": "user", "content": "second"},
    ]


@pytest.mark.parametrize(
    ("model", "settings", "message", "partial"),
    [
        (
            "unauthorized",
            {},
            "The provider refused the API key; check LLM_API_KEY (401: Invalid API key)",
            "",
        ),
        ("echo", {"llm_api_key": "wrong-key"}, "The provider refused the API key", ""),
        ("rate-limited", {}, "The provider is limiting requests; try again in a moment (429", ""),
        ("server-error", {}, "The provider failed (500: Upstream exploded)", ""),
        ("cut", {}, "The connection to the provider broke off mid-answer.", "Partial answer then"),
        ("hang", {"llm_read_timeout_seconds": 0.5}, "The provider did not answer in time.", ""),
        ("garbage", {}, "The provider sent something other than a chat-completions stream", "Fine"),
    ],
)
async def test_upstream_failures_end_the_answer_readably_and_keep_the_partial_text(
    chat_client: ChatClient, model: str, settings: dict[str, Any], message: str, partial: str
) -> None:
    async with chat_client(model, **settings) as client:
        conversation = await new_conversation(client)
        response = await send(client, conversation, "go")

    assert response.status_code == 200  # the failure is news in the stream, not a 500
    events = parse_sse(response.text)
    errors = [data for kind, data in events if kind == "error"]
    assert len(errors) == 1
    assert str(errors[0]).startswith(message)
    assert events[-1][0] == "done"
    saved = await saved_answer(conversation)
    assert saved["status"] == "failed"
    assert saved["content"] == partial
    assert saved["error"].startswith(message)


async def test_the_page_says_which_provider_answers(chat_client: ChatClient) -> None:
    async with chat_client() as client:
        conversation = await new_conversation(client)
        page = await client.get(f"/chat/{conversation}")
    assert "Answers come from: <strong>echo at 127.0.0.1</strong>" in page.text
