"""The chat with the built-in offline provider: what a fresh clone shows."""

import httpx

from bandstand.testing.accounts import People, log_in, log_in_for_api
from bandstand.testing.sse import parse_sse
from project.chat.tables import Conversation, Message
from tests.chat.conftest import new_conversation, send


async def test_a_reply_streams_token_by_token_and_is_saved(chatter: httpx.AsyncClient) -> None:
    conversation = await new_conversation(chatter)

    response = await send(chatter, conversation, "Hello there, assistant")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    tokens = [data for kind, data in events if kind == "token"]
    assert len(tokens) > 10
    kind, done = events[-1]
    assert kind == "done"
    assert isinstance(done, dict)
    assert done["status"] == "complete"
    assert done["provider"] == "offline demo provider"
    assert "<strong>offline</strong>" in done["html"]
    saved = (
        await Message.select(Message.role, Message.content, Message.status)
        .where(Message.conversation == conversation)
        .order_by(Message.id)
    )
    assert saved == [
        {"role": "user", "content": "Hello there, assistant", "status": "complete"},
        {"role": "assistant", "content": "".join(map(str, tokens)), "status": "complete"},
    ]
    title = (
        await Conversation.select(Conversation.title).where(Conversation.id == conversation).first()
    )
    assert title == {"title": "Hello there, assistant"}


async def test_empty_and_oversized_messages_are_refused(chatter: httpx.AsyncClient) -> None:
    conversation = await new_conversation(chatter)
    for content in ("   ", "x" * 8001):
        response = await send(chatter, conversation, content)
        assert response.status_code == 400
        assert "1 to 8000 characters" in response.json()["detail"]
    malformed = await chatter.post(
        f"/api/chat/conversations/{conversation}/messages", json={"content": 5, "extra": True}
    )
    assert malformed.status_code == 400
    assert await Message.count() == 0


async def test_a_second_message_while_a_reply_streams_is_refused(
    chatter: httpx.AsyncClient,
) -> None:
    conversation = await new_conversation(chatter)
    await Message.insert(
        Message(conversation=conversation, role="assistant", content="", status="streaming")
    )
    response = await send(chatter, conversation, "Are you done?")
    assert response.status_code == 409
    assert "still being written" in response.json()["detail"]
    assert await Message.count() == 1


async def test_conversations_are_private(
    chatter: httpx.AsyncClient, client: httpx.AsyncClient, people: People
) -> None:
    conversation = await new_conversation(chatter, "Mine")
    await log_in(client, "member")  # the same client, now someone else
    assert (await client.get(f"/api/chat/conversations/{conversation}")).status_code == 404
    assert (await client.get(f"/chat/{conversation}")).status_code == 404
    assert (await client.get("/api/chat/conversations")).json() == []


async def test_nobody_writes_to_someone_elses_conversation(chatter: httpx.AsyncClient) -> None:
    conversation = await new_conversation(chatter, "Mine")
    await send(chatter, conversation, "Hello there")
    before = await rows()
    await log_in_for_api(chatter, "member")  # the same client, now someone else
    token = chatter.headers["x-site-csrf"]
    writes = {
        "rename": await chatter.post(
            f"/chat/{conversation}/rename", data={"title": "Theirs", "_csrf_token": token}
        ),
        "delete": await chatter.post(f"/chat/{conversation}/delete", data={"_csrf_token": token}),
        "message": await send(chatter, conversation, "Written by a stranger"),
    }
    assert {name: response.status_code for name, response in writes.items()} == {
        "rename": 404,
        "delete": 404,
        "message": 404,
    }
    assert await rows() == before
    # The control: the same writes as the owner do change the conversation.
    await log_in_for_api(chatter, "plain")
    renamed = await chatter.post(
        f"/chat/{conversation}/rename",
        data={"title": "Plans", "_csrf_token": chatter.headers["x-site-csrf"]},
    )
    assert renamed.status_code == 303
    assert await rows() != before


async def rows() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Every conversation and message, as stored."""
    return (
        await Conversation.select().order_by(Conversation.id),
        await Message.select().order_by(Message.id),
    )


async def test_rename_and_delete_from_the_page(chatter: httpx.AsyncClient) -> None:
    conversation = await new_conversation(chatter)
    token = chatter.headers["x-site-csrf"]
    renamed = await chatter.post(
        f"/chat/{conversation}/rename", data={"title": "Plans", "_csrf_token": token}
    )
    assert renamed.status_code == 303
    assert "Plans" in (await chatter.get("/chat")).text
    deleted = await chatter.post(f"/chat/{conversation}/delete", data={"_csrf_token": token})
    assert deleted.status_code == 303
    assert await Conversation.count() == 0


async def test_anonymous_people_are_sent_to_log_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/chat", headers={"accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fchat"
    api = await client.post("/api/chat/conversations", json={})
    assert api.status_code in {401, 403}  # no session, and no CSRF token either


async def test_the_page_escapes_what_people_and_models_write(chatter: httpx.AsyncClient) -> None:
    conversation = await new_conversation(chatter)
    payload = "<img src=x onerror=alert(1)> <script>alert(2)</script> [link](javascript:alert(3))"
    await Message.insert(
        Message(conversation=conversation, role="user", content=payload),
        Message(
            conversation=conversation,
            role="assistant",
            content=f"{payload}\n\n```python\nprint('<b>kept</b>')\n```",
        ),
    )

    page = (await chatter.get(f"/chat/{conversation}")).text

    assert "<script>alert(2)" not in page
    assert "<img src=x" not in page
    assert 'href="javascript:' not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "<pre><code class=\"language-python\">print('&lt;b&gt;kept&lt;/b&gt;')" in page


async def test_the_api_is_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert set(paths["/api/chat/conversations"]) == {"get", "post"}
    assert "get" in paths["/api/chat/conversations/{conversation_id}"]
    stream = paths["/api/chat/conversations/{conversation_id}/messages"]["post"]
    assert stream["tags"] == ["chat"]
    assert "text/event-stream" in stream["responses"]["200"]["description"]
