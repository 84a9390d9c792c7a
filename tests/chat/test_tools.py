"""Tools the chat's model calls: search the products (anyone), look up registrants (staff only,
checked in the tool), each call and its result in the stream, folded on the page and saved with
the answer; arguments that do not fit, unknown tools and endless calling, answered readably."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import httpx

from bandstand.ai.tables import AiCall
from bandstand.testing.accounts import People, log_in_for_api
from bandstand.testing.sse import parse_sse
from project.catalog.tables import Category, Product
from project.chat.service import MAX_TOOL_ROUNDS
from project.chat.tables import Message
from project.webinars.tables import Registrant
from tests.chat.conftest import new_conversation, send
from tests.support.fake_llm import ChatClient, FakeLLM

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


async def add_products(*names: str) -> None:
    category = (await Category.insert(Category(name="Lighting", slug="lighting")))[0]["id"]
    for name in names:
        await Product.insert(
            Product(
                name=name,
                description="",
                price=Decimal("19.90"),
                category=category,
                stock=3,
                created_at=NOW,
            )
        )


async def add_registrant(name: str, email: str, company: str) -> None:
    await Registrant.insert(
        Registrant(
            name=name,
            email=email,
            company=company,
            webinar_date=datetime.date(2027, 1, 15),
            registered_at=NOW,
        )
    )


def of_kind(events: list[tuple[str, Any]], kind: str) -> list[Any]:
    return [data for event, data in events if event == kind]


async def saved_tools() -> list[dict[str, str]]:
    (answer,) = await (
        Message.select(Message.tools).where(Message.role == "assistant").output(load_json=True)
    )
    return list(answer["tools"])


async def test_the_offline_model_searches_the_products_for_anyone(
    chatter: httpx.AsyncClient, people: People
) -> None:
    await add_products("Desk lamp", "Floor lamp", "Chair")
    conversation = await new_conversation(chatter)

    events = parse_sse((await send(chatter, conversation, "search_products lamp")).text)

    (call,) = of_kind(events, "tool_call")
    assert call == {"id": "call_offline_1", "name": "search_products"}
    (result,) = of_kind(events, "tool_result")
    assert result["error"] == ""
    assert result["arguments"] == '{"query": "lamp"}'
    found = json.loads(result["content"])
    assert found["total"] == 2
    assert [product["name"] for product in found["products"]] == ["Desk lamp", "Floor lamp"]
    assert found["products"][0] == {
        "name": "Desk lamp",
        "price": "19.90",
        "stock": 3,
        "category": "Lighting",
        "url": found["products"][0]["url"],
    }
    # Then the model reads the result back, as the answer.
    answer = "".join(of_kind(events, "token"))
    assert answer.startswith("The tool answered: {")
    assert events[-1][0] == "done"
    assert await saved_tools() == [{key: result[key] for key in result if key != "id"}]
    # Two requests to the model, each in the call log.
    assert await AiCall.select(AiCall.user, AiCall.outcome) == [
        {"user": people.plain, "outcome": "complete"},
        {"user": people.plain, "outcome": "complete"},
    ]


async def test_registrants_are_for_staff_only_whatever_the_model_asks(
    chatter: httpx.AsyncClient, people: People
) -> None:
    await add_registrant("Ada Lovelace", "ada@acme.example", "Acme")
    conversation = await new_conversation(chatter)

    response = await send(chatter, conversation, "look_up_registrants acme")

    events = parse_sse(response.text)
    (result,) = of_kind(events, "tool_result")
    assert result["error"] == "Looking up registrants is for staff only."
    assert json.loads(result["content"]) == {"error": "Looking up registrants is for staff only."}
    assert "ada@acme.example" not in response.text
    page = await chatter.get(f"/chat/{conversation}")
    assert "ada@acme.example" not in page.text
    assert "Looking up registrants is for staff only." in page.text

    await log_in_for_api(chatter, "staff")
    conversation = await new_conversation(chatter)
    events = parse_sse((await send(chatter, conversation, "look_up_registrants acme")).text)
    (result,) = of_kind(events, "tool_result")
    assert result["error"] == ""
    assert json.loads(result["content"]) == {
        "total": 1,
        "registrants": [
            {
                "name": "Ada Lovelace",
                "email": "ada@acme.example",
                "company": "Acme",
                "webinar_date": "2027-01-15",
            }
        ],
    }


async def test_a_tool_call_over_the_wire_is_answered_as_openai_expects(
    chat_client: ChatClient, fake_llm: FakeLLM
) -> None:
    await add_products("Desk lamp")
    async with chat_client("tool-caller") as client:
        conversation = await new_conversation(client)
        events = parse_sse(
            (await send(client, conversation, 'search_products {"query": "desk"}')).text
        )

    first, second = fake_llm.requests
    offered = {tool["function"]["name"]: tool for tool in first["tools"]}
    assert set(offered) == {"search_products", "look_up_registrants"}
    assert offered["search_products"] == {
        "type": "function",
        "function": {
            "name": "search_products",
            "description": offered["search_products"]["function"]["description"],
            "parameters": {
                "title": "SearchProducts",
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "category": {"type": "string", "default": ""},
                },
                "required": ["query"],
                "additionalProperties": False,
            },
        },
    }
    (result,) = of_kind(events, "tool_result")
    # The arguments came in pieces; the call went back with its result.
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "search_products", "arguments": '{"query": "desk"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": result["content"]},
    ]
    assert json.loads(result["content"])["total"] == 1
    assert "".join(of_kind(events, "token")) == f"Tool said: {result['content']}"


async def test_arguments_that_do_not_fit_and_unknown_tools_are_errors_the_model_reads(
    chat_client: ChatClient, fake_llm: FakeLLM
) -> None:
    async with chat_client("tool-caller") as client:
        conversation = await new_conversation(client)
        wrong = parse_sse((await send(client, conversation, 'search_products {"query": 5}')).text)
        unknown = parse_sse((await send(client, conversation, "drop_tables {}")).text)
        broken = parse_sse((await send(client, conversation, "search_products {query")).text)

    errors = [of_kind(events, "tool_result")[0]["error"] for events in (wrong, unknown, broken)]
    assert (
        errors[0] == "The arguments do not fit the tool: Expected `str`, got `int` - at `$.query`"
    )
    assert errors[1] == "There is no tool named 'drop_tables'."
    assert errors[2].startswith("The arguments do not fit the tool: JSON is malformed")
    # Each error went back to the model as the tool's answer, and the answer ended normally.
    assert json.loads(fake_llm.requests[1]["messages"][-1]["content"]) == {"error": errors[0]}
    assert all(events[-1][1]["status"] == "complete" for events in (wrong, unknown, broken))


async def test_a_model_that_keeps_calling_tools_is_made_to_answer(
    chat_client: ChatClient, fake_llm: FakeLLM
) -> None:
    async with chat_client("tool-loop") as client:
        conversation = await new_conversation(client)
        events = parse_sse(
            (await send(client, conversation, 'search_products {"query": "x"}')).text
        )

    assert len(of_kind(events, "tool_call")) == MAX_TOOL_ROUNDS
    assert len(fake_llm.requests) == MAX_TOOL_ROUNDS + 1
    assert all("tools" in request for request in fake_llm.requests[:-1])
    assert "tools" not in fake_llm.requests[-1]
    assert "".join(of_kind(events, "token")).startswith("Tool said: ")
    assert events[-1][1]["status"] == "complete"
    assert await AiCall.count() == MAX_TOOL_ROUNDS + 1


async def test_tool_results_are_folded_and_escaped_on_the_page(
    chatter: httpx.AsyncClient,
) -> None:
    await add_products("<script>alert(1)</script> lamp")
    conversation = await new_conversation(chatter)
    await send(chatter, conversation, "search_products lamp")

    page = (await chatter.get(f"/chat/{conversation}")).text
    api = (await chatter.get(f"/api/chat/conversations/{conversation}")).json()

    assert "<script>alert(1)</script>" not in page
    assert '<details class="tool">' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; lamp" in page
    (tool,) = api["messages"][-1]["tools"]
    assert tool["name"] == "search_products"
    assert "<script>alert(1)</script> lamp" in json.loads(tool["content"])["products"][0]["name"]
