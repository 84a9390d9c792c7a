"""The chat's AI calls: each written to the call log with what it used and cost, and the user's
budget kept: a warning from 80%, an answer that stops at the limit with a message, then a
refusal that reaches no provider."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from typing import Any

import httpx

from bandstand.ai.providers import OfflineProvider
from bandstand.ai.tables import AiCall
from bandstand.settings import get_settings
from bandstand.testing.accounts import People
from bandstand.testing.ai import logged_call
from bandstand.testing.sse import parse_sse
from project.chat.service import LIMITED, Metering, run_reply, start_reply
from project.chat.tables import Message
from tests.chat.conftest import new_conversation, send
from tests.support.fake_llm import ChatClient, FakeLLM


async def logged() -> dict[str, Any]:
    (row,) = await AiCall.select().where(AiCall.at > datetime.datetime(2000, 1, 1))
    return row


async def test_a_call_is_logged_with_the_providers_count_and_its_cost(
    chat_client: ChatClient, fake_llm: FakeLLM, people: People
) -> None:
    async with chat_client(ai_prices=("echo=1/2",)) as client:
        conversation = await new_conversation(client)
        await send(client, conversation, "hello little world")

    call = await logged()
    # The fake counts words: 3 in the prompt, 5 in "You said: hello little world".
    assert {key: call[key] for key in ("user", "kind", "model", "outcome", "error")} == {
        "user": people.plain,
        "kind": "chat",
        "model": "echo",
        "outcome": "complete",
        "error": "",
    }
    assert (call["prompt_tokens"], call["completion_tokens"], call["tokens_estimated"]) == (
        3,
        5,
        False,
    )
    assert call["cost"] == Decimal("0.000013")  # (3 * 1 + 5 * 2) per million
    assert fake_llm.requests[-1]["stream_options"] == {"include_usage": True}
    assert "max_tokens" not in fake_llm.requests[-1]  # no budget set


async def test_a_provider_that_reports_no_usage_is_estimated(chat_client: ChatClient) -> None:
    async with chat_client("no-usage") as client:
        conversation = await new_conversation(client)
        await send(client, conversation, "hello little world")

    call = await logged()
    assert call["tokens_estimated"] is True
    assert call["prompt_tokens"] == math.ceil(len("hello little world") / 4)
    assert call["completion_tokens"] == math.ceil(len("You said: hello little world") / 4)


async def test_a_failed_call_is_logged_as_failed(chat_client: ChatClient) -> None:
    async with chat_client("server-error") as client:
        conversation = await new_conversation(client)
        await send(client, conversation, "go")

    call = await logged()
    assert call["outcome"] == "failed"
    assert call["error"] == "The provider failed (500: Upstream exploded)"
    assert call["completion_tokens"] == 0


async def test_the_offline_providers_calls_are_logged_too(
    chatter: httpx.AsyncClient, people: People
) -> None:
    conversation = await new_conversation(chatter)
    events = parse_sse((await send(chatter, conversation, "Hello there")).text)

    call = await logged()
    words = [data for kind, data in events if kind == "token"]
    assert (call["model"], call["outcome"], call["user"]) == ("offline", "complete", people.plain)
    assert call["completion_tokens"] == len(words)


async def test_a_spent_budget_is_refused_before_any_provider_is_asked(
    chat_client: ChatClient, fake_llm: FakeLLM, people: People
) -> None:
    await logged_call(people.plain, (1000, 0))
    async with chat_client(ai_budget_daily_tokens=1000) as client:
        conversation = await new_conversation(client)
        response = await send(client, conversation, "hello")
        page = await client.get(f"/chat/{conversation}")

    assert response.status_code == 429
    refusal = "Your daily AI budget is spent (1,000 of 1,000 tokens). It renews at 00:00 UTC."
    assert response.json()["detail"] == refusal
    assert fake_llm.requests == []
    assert await Message.count() == 0
    assert await AiCall.count() == 1  # only the earlier call
    assert f'<p class="notice" id="budget" role="status">{refusal}</p>' in page.text


async def test_a_budget_nearly_spent_is_announced_and_bounds_the_answer(
    chat_client: ChatClient, fake_llm: FakeLLM, people: People
) -> None:
    await logged_call(people.plain, (850, 0))
    async with chat_client(ai_budget_daily_tokens=1000) as client:
        conversation = await new_conversation(client)
        events = parse_sse((await send(client, conversation, "hello little world")).text)
        page = await client.get(f"/chat/{conversation}")

    warning = "You have used 85% of your daily AI budget (850 of 1,000 tokens)."
    assert events[0] == ("notice", warning)
    assert events[-1][0] == "done"
    # 150 tokens left, less the prompt's estimate (18 characters: 5 tokens).
    assert fake_llm.requests[-1]["max_tokens"] == 145
    # 850 + 3 + 5 since.
    assert "You have used 85% of your daily AI budget (858 of 1,000 tokens)." in page.text


async def test_an_answer_that_reaches_the_limit_stops_with_a_message(
    chat_client: ChatClient, fake_llm: FakeLLM, people: People
) -> None:
    await logged_call(people.plain, (990, 0))
    async with chat_client(ai_budget_daily_tokens=1000) as client:
        conversation = await new_conversation(client)
        response = await send(client, conversation, "one two three four five six")
        page = await client.get(f"/chat/{conversation}")

    events = parse_sse(response.text)
    # 10 tokens left, less the prompt's estimate (27 characters: 7 tokens): 3.
    assert fake_llm.requests[-1]["max_tokens"] == 3
    assert [data for kind, data in events if kind == "token"] == ["You", " said:", " one"]
    assert events[-2] == ("notice", LIMITED)
    kind, done = events[-1]
    assert kind == "done"
    assert isinstance(done, dict)
    assert done["status"] == "limited"
    answer = await Message.select(Message.content, Message.status).where(
        Message.role == "assistant"
    )
    assert answer == [{"content": "You said: one", "status": "limited"}]
    outcomes = await AiCall.select(AiCall.outcome).where(AiCall.model == "echo")
    assert outcomes == [{"outcome": "limited"}]
    assert "(stopped at the limit of your AI budget)" in page.text


async def test_a_reader_leaving_logs_the_call_as_interrupted(
    chatter: httpx.AsyncClient, people: People
) -> None:
    conversation = await new_conversation(chatter)
    provider = OfflineProvider(token_delay=0)
    answer, history = await start_reply(conversation, "Hello there", provider)
    metering = Metering(people.plain, get_settings())

    reply = run_reply(answer, history, provider, metering)
    kinds = [(await anext(reply)).kind for _ in range(2)]
    await reply.aclose()  # the reader went away after two tokens

    assert kinds == ["token", "token"]
    call = await logged()
    assert (call["outcome"], call["completion_tokens"]) == ("interrupted", 2)
