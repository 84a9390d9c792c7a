"""The AI tables in the admin: the call log read-only, budgets edited by staff."""

from __future__ import annotations

from decimal import Decimal

import httpx

from bandstand.ai.calls import Call
from bandstand.ai.tables import AiBudget, AiCall
from bandstand.settings import get_settings
from bandstand.testing.accounts import People, log_in
from tests.support.admin import admin_write


async def test_the_call_log_is_read_only_and_budgets_are_editable(
    client: httpx.AsyncClient, people: People
) -> None:
    call = Call(people.plain, "chat", "some-model")
    call.usage.prompt_tokens = 12
    await call.record(get_settings(), "failed", "The provider failed (500: boom)")
    (logged,) = await AiCall.select(AiCall.id)
    await log_in(client, "boss")
    await client.get("/admin/")

    listed = await client.get("/admin/api/tables/ai_call/")
    assert listed.status_code == 200
    assert [(row["model"], row["outcome"]) for row in listed.json()["rows"]] == [
        ("some-model", "failed")
    ]
    for method, path, body in [
        ("PATCH", f"ai_call/{logged['id']}/", {"prompt_tokens": 0}),
        ("PUT", f"ai_call/{logged['id']}/", {"prompt_tokens": 0}),
        ("DELETE", f"ai_call/{logged['id']}/", None),
        ("POST", "ai_call/", {"model": "forged", "prompt_tokens": 1}),
    ]:
        answer = await admin_write(client, method, path, body)
        assert answer.status_code == 405, (method, path, answer.status_code)
    assert await AiCall.select(AiCall.model, AiCall.prompt_tokens) == [
        {"model": "some-model", "prompt_tokens": 12}
    ]

    created = await admin_write(
        client, "POST", "ai_budget/", {"user": people.plain, "daily_tokens": 5000}
    )
    assert created.status_code == 201, created.text
    changed = await admin_write(
        client, "PATCH", f"ai_budget/{created.json()[0]['id']}/", {"monthly_cost": "2.5"}
    )
    assert changed.status_code == 200, changed.text
    assert await AiBudget.select(AiBudget.user, AiBudget.daily_tokens, AiBudget.monthly_cost) == [
        {"user": people.plain, "daily_tokens": 5000, "monthly_cost": Decimal("2.5")}
    ]
