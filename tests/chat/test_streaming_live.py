"""Streaming through a real uvicorn server: a reader leaving stops the provider, and a slow
answer holds up nobody else."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.accounts import prepare_site_database, site_login
from tests.support.fake_llm import FakeLLM
from tests.support.live_server import live_server


@pytest.fixture
def slow_site(fresh_database_url: str, fake_llm: FakeLLM) -> Iterator[str]:
    prepare_site_database(fresh_database_url)
    with live_server(
        DATABASE_URL=fresh_database_url,
        LLM_BASE_URL=fake_llm.base_url,
        LLM_API_KEY="test-key",
        LLM_MODEL="slow",
    ) as base:
        yield base


def new_conversation(client: httpx.Client) -> int:
    response = client.post("/api/chat/conversations", json={})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def wait_for(condition: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_a_reader_leaving_stops_the_upstream_request_and_keeps_the_partial_answer(
    slow_site: str, fake_llm: FakeLLM
) -> None:
    with httpx.Client(base_url=slow_site, timeout=10) as client:
        site_login(client)
        conversation = new_conversation(client)
        url = f"/api/chat/conversations/{conversation}/messages"
        with client.stream("POST", url, json={"content": "tell me a long story"}) as response:
            assert response.status_code == 200
            seen = 0
            for line in response.iter_lines():
                seen += line.startswith("event: token")
                if seen == 3:
                    break  # the reader goes away mid-answer

        assert wait_for(lambda: fake_llm.disconnects == 1), "the upstream stream was not closed"
        assert fake_llm.completed == 0

        def interrupted() -> bool:
            messages = client.get(f"/api/chat/conversations/{conversation}").json()["messages"]
            return bool(messages[-1]["status"] == "interrupted")

        assert wait_for(interrupted)
        answer = client.get(f"/api/chat/conversations/{conversation}").json()["messages"][-1]
        assert answer["content"].startswith("word0 word1 word2")
        # The conversation is free again for the next message (taken, not read to its end:
        # the slow answer would take its whole length).
        with client.stream("POST", url, json={"content": "again"}) as followup:
            assert followup.status_code == 200
            assert next(followup.iter_lines()).startswith("event: ")


def test_a_slow_stream_does_not_hold_up_other_requests(slow_site: str) -> None:
    with (
        httpx.Client(base_url=slow_site, timeout=30) as streaming,
        httpx.Client(base_url=slow_site, timeout=5) as other,
    ):
        site_login(streaming)
        conversation = new_conversation(streaming)
        url = f"/api/chat/conversations/{conversation}/messages"
        with streaming.stream("POST", url, json={"content": "slowly please"}) as response:
            lines = response.iter_lines()
            while not next(lines).startswith("event: token"):
                pass
            # Mid-stream, on the same single-worker server:
            started = time.monotonic()
            for _ in range(10):
                assert other.get("/healthz").status_code == 200
            assert other.get("/").status_code == 200
            elapsed = time.monotonic() - started
            # Tokens come every 0.2 s; eleven requests answered well within a couple of them.
            assert elapsed < 1.0, elapsed
            # A second conversation's message is refused only for the busy one.
            busy = streaming.post(url, json={"content": "me too"})
            assert busy.status_code == 409
