"""The dashboard's AI spend: this UTC month's calls, per user and per model, largest first."""

from __future__ import annotations

import datetime

import httpx

from bandstand.ai.spend import ai_spend
from bandstand.testing.accounts import People, log_in
from bandstand.testing.ai import logged_call

JSON = {"accept": "application/json"}


async def call(
    user: int | None, model: str, tokens: tuple[int, int], cost: str, at: datetime.datetime
) -> None:
    await logged_call(user, tokens, cost=cost, model=model, at=at)


async def test_spend_per_user_and_per_model_this_month(
    client: httpx.AsyncClient, people: People
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    await call(people.plain, "big-model", (1000, 500), "0.012500", now)
    await call(people.plain, "big-model", (10, 5), "0.000125", month)  # its first moment
    await call(people.member, "small-model", (3000, 3000), "0.000600", now)
    await call(people.member, "offline", (7, 40), "0", now)
    await call(None, "small-model", (100, 0), "0.000010", now)  # a deleted account's
    await call(people.plain, "big-model", (99999, 1), "9", month - datetime.timedelta(seconds=1))
    await log_in(client, "staff")

    spend = (await client.get("/api/dashboard", headers=JSON)).json()["ai_spend"]

    assert spend["since"] == month.isoformat().replace("+00:00", "Z")
    assert spend["by_user"] == [
        {"label": "plain", "calls": 2, "tokens": 1515, "cost": "0.012625"},
        {"label": "member", "calls": 2, "tokens": 6047, "cost": "0.000600"},
        {"label": "(deleted account)", "calls": 1, "tokens": 100, "cost": "0.000010"},
    ]
    assert spend["by_model"] == [
        {"label": "big-model", "calls": 2, "tokens": 1515, "cost": "0.012625"},
        {"label": "small-model", "calls": 2, "tokens": 6100, "cost": "0.000610"},
        {"label": "offline", "calls": 1, "tokens": 47, "cost": "0.000000"},
    ]
    page = (await client.get("/dashboard")).text
    assert (
        '<tr><th scope="row">member</th><td class="num">2</td><td class="num">6,047</td>'
        '<td class="num">0.0006</td></tr>'
    ) in page


async def test_spend_with_no_calls_says_so(client: httpx.AsyncClient, people: People) -> None:
    await log_in(client, "staff")
    page = (await client.get("/dashboard")).text
    assert page.count("No AI calls yet this month.") == 2


async def test_with_no_prices_the_largest_users_of_tokens_come_first(
    clean_tables: None, people: People
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    for user, tokens in [
        (people.plain, 10),
        (people.member, 300),
        (people.staff, 20),
        (people.superuser, 200),
    ]:
        await call(user, "free-model", (tokens, 0), "0", now)

    spend = await ai_spend(now.replace(day=1, hour=0), top=2)

    assert [(row.label, row.tokens) for row in spend.by_user] == [("member", 300), ("boss", 200)]
    assert [(row.label, row.tokens, row.calls) for row in spend.by_model] == [
        ("free-model", 530, 4)
    ]
