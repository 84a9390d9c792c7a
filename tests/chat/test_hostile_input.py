"""Cross-site scripting through the chat, which the framework's stress suite (tests/stress/, on
its sample site) does not have: every XSS payload as a conversation's title, a message and a
rename, then the streamed answer's rendered HTML (markdown), the pages (escaped, nothing
injected) and the API (verbatim); and every payload stored as an answer's content, provider
and error, the fields only an answer shows."""

from __future__ import annotations

import re
from typing import Any

import httpx
from piccolo.columns import Column

from bandstand.testing.accounts import People, log_in_for_api
from bandstand.testing.sse import parse_sse
from project.chat.schemas import MessageIn, NewConversation, RenameForm
from project.chat.tables import Conversation, Message
from tests.stress.hostile import Audit
from tests.stress.markup import injected, leaks
from tests.stress.payloads import XSS


def tagged(payload: str, number: int) -> str:
    """Made unique, the tag last: the offline provider's answer echoes the first word."""
    return f"{payload} ~h{number:02d}"


def body(struct: type[Any], payload: str) -> dict[str, str]:
    """The payload in every field of `struct` (they are all text)."""
    return {name: payload for name in struct.__struct_fields__}


async def test_payloads_sent_through_the_chat_are_escaped_on_its_pages_and_verbatim_in_json(
    client: httpx.AsyncClient, people: People
) -> None:
    audit = Audit()
    await log_in_for_api(client, "boss")
    token = client.headers["x-site-csrf"]
    for number, raw in enumerate(XSS):
        payload = tagged(raw, number)
        conversation = audit.data(
            await client.post("/api/chat/conversations", json=body(NewConversation, payload)),
            {"title": payload.strip()[:200]},
            status=201,
        )
        if not conversation:
            continue
        chat = conversation["id"]
        reply = await client.post(
            f"/api/chat/conversations/{chat}/messages", json=body(MessageIn, payload)
        )
        events = parse_sse(reply.text)
        tokens = "".join(str(data) for kind, data in events if kind == "token")
        done = next((data for kind, data in events if kind == "done"), None)
        first_word = payload.strip().split()[0]
        audit.require(first_word in tokens, f"the answer does not echo {first_word!r}")
        if isinstance(done, dict):
            # Markdown decodes entities (`&lt;` shows as "<", as text), so only a raw tag in
            # the echoed word says whether markdown escaped it.
            raw_tags = [word for word in (first_word,) if "<" in word]
            problems = injected(done["html"]) + leaks(done["html"], raw_tags)
            audit.problems += [f"chat {chat} rendered answer: {p}" for p in problems]
        else:
            audit.problems.append(f"chat {chat}: no done event in {reply.text[:200]}")
        messages = (await client.get(f"/api/chat/conversations/{chat}")).json()["messages"]
        audit.require(
            messages[0]["content"] == payload.strip() and messages[1]["content"] == tokens,
            f"chat {chat}: the API does not carry the messages verbatim: {messages}",
        )
        said = (payload.strip(), payload)
        audit.page(await client.get(f"/chat/{chat}"), said, [payload.strip()])
        response = await client.post(
            f"/chat/{chat}/rename", data={**body(RenameForm, payload), "_csrf_token": token}
        )
        audit.require(response.status_code == 303, f"rename: {response.status_code}")
        audit.page(await client.get(f"/chat/{chat}"), said, [payload.strip()])
        audit.page(await client.get("/chat"), said, [payload.strip()])
    audit.assert_clean()
    assert audit.pages == 3 * len(XSS)


async def test_payloads_stored_in_an_answer_are_escaped_on_its_page(
    client: httpx.AsyncClient, people: People
) -> None:
    audit = Audit()
    await log_in_for_api(client, "boss")
    conversation = (await Conversation.insert(Conversation(owner=people.superuser)))[0]["id"]
    # The page shows an answer's provider, and a failed one's error, only for such rows; its
    # content goes through markdown.
    answer = Message(conversation=conversation, role="assistant", status="failed")
    await answer.save()
    columns = (Message.content, Message.provider, Message.error)
    for number, payload in enumerate(XSS):
        values = {column: f"c{code}h{number:02d} {payload}" for code, column in enumerate(columns)}
        changes: dict[Column | str, Any] = {column: value for column, value in values.items()}
        await Message.update(changes).where(Message.id == answer.id)
        shown = {value: column._meta.name for column, value in values.items()}
        markdown = values[Message.content]
        # Markdown escapes what makes markup in text (< > &) but leaves quotes, harmless there,
        # and decodes entity references: the raw check applies to its text only for a tag.
        # The structural check applies to all of it.
        if "&" in markdown or not re.search("[<>]", markdown):
            shown.pop(markdown)
        response = await client.get(f"/chat/{conversation}")
        audit.page(response, shown)
        listed = (await client.get(f"/api/chat/conversations/{conversation}")).json()
        audit.require(
            [listed["messages"][0][column._meta.name] for column in columns]
            == list(values.values()),
            f"the API does not carry the answer verbatim: {listed['messages'][0]}",
        )
    audit.assert_clean()
