from __future__ import annotations

import httpx
import pytest

from bandstand.testing.accounts import People, log_in_for_api


@pytest.fixture
async def chatter(client: httpx.AsyncClient, people: People) -> httpx.AsyncClient:
    """The suite's client, logged in as "plain", with the CSRF header set for the API."""
    await log_in_for_api(client, "plain")
    return client


async def new_conversation(client: httpx.AsyncClient, title: str = "") -> int:
    response = await client.post("/api/chat/conversations", json={"title": title})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def send(client: httpx.AsyncClient, conversation: int, content: str) -> httpx.Response:
    return await client.post(
        f"/api/chat/conversations/{conversation}/messages", json={"content": content}
    )
