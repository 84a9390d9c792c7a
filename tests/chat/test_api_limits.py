"""The chat API's refusals, as its OpenAPI schema states them; found by fuzzing the API
(tests/stress/test_fuzz.py). Ids are 32-bit on PostgreSQL, 64-bit on SQLite: both are checked."""

import httpx
import pytest

from bandstand.ids import MAX_ID
from bandstand.testing.sse import parse_sse
from project.chat.tables import Message
from tests.chat.conftest import new_conversation, send

PAST_POSTGRES = 2**31  # an int4 column refuses it
PAST_SQLITE = 2**63  # sqlite3 cannot bind it


@pytest.mark.parametrize("conversation", [PAST_POSTGRES, PAST_SQLITE, -PAST_SQLITE, 0])
async def test_an_id_out_of_range_is_refused_not_a_500(
    chatter: httpx.AsyncClient, conversation: int
) -> None:
    assert (await chatter.get(f"/api/chat/conversations/{conversation}")).status_code == 400
    assert (await send(chatter, conversation, "Hello")).status_code == 400
    page = await chatter.get(f"/chat/{conversation}", headers={"accept": "text/html"})
    assert page.status_code == 400
    assert await Message.count() == 0


async def test_the_largest_id_is_looked_up(chatter: httpx.AsyncClient) -> None:
    assert (await chatter.get(f"/api/chat/conversations/{MAX_ID}")).status_code == 404


async def test_refusals_have_the_shape_the_schema_gives_them(chatter: httpx.AsyncClient) -> None:
    conversation = await new_conversation(chatter)
    empty = await send(chatter, conversation, "   ")
    assert empty.json() == {
        "status_code": 400,
        "detail": "A message needs 1 to 8000 characters.",
    }
    # The limit is on the message as sent, as the schema's maxLength says.
    padded = await send(chatter, conversation, " " + "x" * 8000)
    assert padded.status_code == 400
    await Message.insert(
        Message(conversation=conversation, role="assistant", content="", status="streaming")
    )
    busy = await send(chatter, conversation, "Are you done?")
    assert busy.status_code == 409
    assert busy.json()["status_code"] == 409


async def test_the_schema_describes_the_reply_stream(chatter: httpx.AsyncClient) -> None:
    schema = (await chatter.get("/schema/openapi.json")).json()
    post = schema["paths"]["/api/chat/conversations/{conversation_id}/messages"]["post"]
    assert set(post["responses"]) == {"200", "400", "401", "403", "404", "409", "429"}
    (media_type,) = post["responses"]["200"]["content"]
    assert media_type == "text/event-stream"
    event = schema["components"]["schemas"]["ReplyEvent"]
    assert event["properties"]["event"]["enum"] == [
        "notice",
        "token",
        "tool_call",
        "tool_result",
        "error",
        "done",
    ]
    # What the route sends is what the schema says.
    conversation = await new_conversation(chatter)
    reply = await send(chatter, conversation, "Hello")
    assert reply.headers["content-type"].startswith("text/event-stream")
    kinds = [kind for kind, _ in parse_sse(reply.text)]
    assert set(kinds) <= set(event["properties"]["event"]["enum"])
    assert kinds[-1] == "done"
