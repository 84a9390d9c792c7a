"""Chat replies streaming while PostgreSQL restarts, on the site as deployed (`piccolo project
serve`, production settings, a throwaway TLS server): each stream ends cleanly (with `done`,
or an `error` event), a reply acknowledged complete is stored as streamed, a message and its
reply are stored together or not at all, and every conversation takes messages again within
5 s of the server's return.

The framework's own restart test (tests/stress/test_faults.py) covers the mechanism every
feature shares (503 with Retry-After, recovery, transactions whole); this is what only the chat
has: an answer that streams while its row is written.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.stress.traffic import (
    PASSWORD,
    Answer,
    Browser,
    Record,
    production_environment,
    read_database,
    run_command,
    serving,
)
from tests.support.cli import PICCOLO
from tests.support.mandatory import skip_unless_ci
from tests.support.postgres_servers import PostgresServer, missing_prerequisites

pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(420)]

CHATTERS = 8
WARM_UP = 4.0
OUTAGE = 3.0
SETTLE = 8.0
RECOVERY_LIMIT = 5.0
# About 30 words at 100 ms each: every reply streaming when the database goes away ends during
# the outage.
TOKEN_DELAY_MS = "100"
CREATE_USERS = """
import asyncio, sys
from bandstand.accounts.users import create_user

async def main(count, password):
    for number in range(count):
        await create_user(f"chat{number}", f"chat{number}@example.com", password)

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


@pytest.fixture(scope="module")
def database() -> Iterator[PostgresServer]:
    reason = missing_prerequisites()
    if reason is not None:
        skip_unless_ci(reason)
    with PostgresServer(ssl=True) as server:
        environment = production_environment(server.url(sslmode="require"))
        run_command(PICCOLO, "project", "release", environ=environment)
        run_command(
            sys.executable, "-c", CREATE_USERS, str(CHATTERS), PASSWORD, environ=environment
        )
        yield server


@dataclass
class Chat:
    record: Record = field(default_factory=Record)
    # message id → the text streamed, for replies that ended "done" and "complete"
    acknowledged: dict[int, str] = field(default_factory=dict)
    cut: list[str] = field(default_factory=list)  # streams cut, or ended without "done"
    blocked: list[Answer] = field(default_factory=list)  # 409s after the database was back
    conversations: list[int] = field(default_factory=list)
    back: float = 0.0


async def _chatter(browser: Browser, conversation: int, chat: Chat, stop: asyncio.Event) -> None:
    sent = 0
    while not stop.is_set():
        sent += 1
        path = f"/api/chat/conversations/{conversation}/messages"
        answer, events = await browser.stream("chat", path, {"content": f"message {sent}"})
        if answer.status == 409 and chat.back and answer.started > chat.back + RECOVERY_LIMIT:
            chat.blocked.append(answer)
        if answer.status is None:
            chat.cut.append(answer.error)
        if answer.status != 200:
            await asyncio.sleep(0.2)  # as a person would wait before sending again
            continue
        done = [event.data for event in events if event.kind == "done"]
        if not done:
            chat.cut.append(f"{[event.kind for event in events][-3:]}")
        elif done[0]["status"] == "complete":
            text = "".join(event.data for event in events if event.kind == "token")
            chat.acknowledged[int(done[0]["message_id"])] = text


async def _chat_through_a_restart(server: PostgresServer, base: str) -> Chat:
    chat = Chat()
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=60) as http:
        tasks = []
        for number in range(CHATTERS):
            browser = Browser(http, chat.record, base, address=f"10.8.{number}.1")
            answer = await browser.log_in("setup", f"chat{number}", PASSWORD)
            assert answer is not None, "no login form"
            assert answer.status == 303, answer.sample()
            browser.csrf = await browser.form_token("setup", "/account") or ""
            created = await browser.request(
                "setup", "POST", "/api/chat/conversations", json={"title": "restart"}
            )
            assert created.status == 201, created.sample()
            chat.conversations.append(int(json.loads(created.body)["id"]))
            tasks.append(asyncio.create_task(_chatter(browser, chat.conversations[-1], chat, stop)))
        try:
            await asyncio.sleep(WARM_UP)
            await asyncio.to_thread(server.stop, "fast")
            await asyncio.sleep(OUTAGE)
            await asyncio.to_thread(server.start)
            chat.back = time.monotonic()
            await asyncio.sleep(SETTLE)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    return chat


def test_chat_replies_across_a_database_restart(database: PostgresServer, tmp_path: Path) -> None:
    url = database.url(sslmode="require")
    with serving(
        url,
        tmp_path / "chat.log",
        app="main:app",
        LLM_API_KEY="",
        LLM_OFFLINE_TOKEN_DELAY_MS=TOKEN_DELAY_MS,
    ) as server:
        chat = asyncio.run(_chat_through_a_restart(database, server.base))
    record = chat.record
    messages = read_database(
        url, "SELECT id, conversation, role, content, status FROM message ORDER BY id"
    )
    ours = [m for m in messages if m["conversation"] in chat.conversations]
    stored = {m["id"]: m for m in ours if m["role"] == "assistant"}
    lost = [
        message_id
        for message_id, text in chat.acknowledged.items()
        if stored.get(message_id, {}).get("content") != text
        or stored[message_id]["status"] != "complete"
    ]
    unpaired = [
        conversation
        for conversation in chat.conversations
        if [m["role"] for m in ours if m["conversation"] == conversation]
        != ["user", "assistant"] * (sum(m["conversation"] == conversation for m in ours) // 2)
    ]
    unexpected = [a for a in record.answers if a.status not in {200, 201, 303, 409, 503}]

    # The prompt and its reply are written in one transaction.
    assert not unpaired, f"a message without its reply (or the reverse) in {unpaired}"
    assert not lost, f"acknowledged complete, stored otherwise: {lost[:5]}"
    assert not unexpected, record.evidence(unexpected)
    assert not chat.cut, f"{len(chat.cut)} streams ended without `done`: {chat.cut[:3]}"
    assert not chat.blocked, record.evidence(chat.blocked)
    assert record.counts()[("chat", "200")] > 0, "no reply streamed"
    assert not [m for m in stored.values() if m["status"] == "streaming"], "a reply left streaming"
