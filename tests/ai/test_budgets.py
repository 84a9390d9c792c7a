"""Budgets: limits from the settings, a user's own row and their groups'; spend counted per UTC
day and month from the call log; the warning, the refusal and the tokens an answer may use."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from bandstand.accounts.tables import Group, Membership
from bandstand.ai.budgets import budget_of
from bandstand.ai.calls import Call
from bandstand.ai.prices import FREE, Price
from bandstand.ai.tables import AiBudget, AiCall
from bandstand.settings import Settings, get_settings
from bandstand.testing.accounts import MEMBERS_GROUP, People
from bandstand.testing.ai import logged_call

# Mid-month, mid-day: a day back is still this month.
NOW = datetime.datetime(2026, 12, 15, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def settings(**changes: Any) -> Settings:
    return msgspec.structs.replace(get_settings(), **changes)


async def spent(
    user: int | None, tokens: int, at: datetime.datetime = NOW, cost: str = "0"
) -> None:
    await logged_call(user, (tokens // 2, tokens - tokens // 2), cost=cost, at=at)


async def test_without_limits_nothing_is_counted_or_refused(people: People) -> None:
    await spent(people.plain, 10**9)

    budget = await budget_of(people.plain, settings(), NOW)

    assert budget.limits == ()
    assert not budget.spent
    assert budget.warning == ""
    assert budget.max_completion_tokens(FREE, 100) is None


async def test_todays_calls_count_for_the_day_and_earlier_ones_for_the_month(
    people: People,
) -> None:
    midnight = NOW.replace(hour=0)
    await spent(people.plain, 300, midnight)  # today's first moment
    await spent(people.plain, 400, midnight - datetime.timedelta(microseconds=1))  # yesterday
    await spent(people.plain, 500, NOW.replace(day=1, hour=0))  # the month's first moment
    await spent(people.plain, 10**6, NOW.replace(day=1, hour=0) - DAY)  # last month
    await spent(people.member, 10**6)  # someone else's
    await spent(None, 10**6)  # a deleted account's

    budget = await budget_of(
        people.plain,
        settings(ai_budget_daily_tokens=1000, ai_budget_monthly_tokens=2000),
        NOW,
    )

    assert [(limit.period, limit.spent, limit.allowed) for limit in budget.limits] == [
        ("daily", Decimal(300), Decimal(1000)),
        ("monthly", Decimal(1200), Decimal(2000)),
    ]
    assert budget.tightest is budget.limits[1]
    assert not budget.spent
    assert budget.warning == ""


@pytest.mark.parametrize(
    ("used", "warning", "refused"),
    [
        (799, "", False),
        (800, "You have used 80% of your daily AI budget (800 of 1,000 tokens).", False),
        (999, "You have used 99% of your daily AI budget (999 of 1,000 tokens).", False),
        (1000, "You have used 100% of your daily AI budget (1,000 of 1,000 tokens).", True),
        (1500, "You have used 150% of your daily AI budget (1,500 of 1,000 tokens).", True),
    ],
)
async def test_a_warning_from_80_percent_and_a_refusal_at_the_limit(
    people: People, used: int, warning: str, refused: bool
) -> None:
    await spent(people.plain, used)

    budget = await budget_of(people.plain, settings(ai_budget_daily_tokens=1000), NOW)

    assert budget.warning == warning
    assert budget.spent is refused
    if refused:
        assert budget.refusal == (
            f"Your daily AI budget is spent ({used:,} of 1,000 tokens). It renews at 00:00 UTC."
        )


async def test_the_monthly_refusal_says_when_it_renews(people: People) -> None:
    await spent(people.plain, 60, NOW - 3 * DAY, cost="0.50")

    budget = await budget_of(people.plain, settings(ai_budget_monthly_cost=0.5), NOW)

    assert budget.spent
    assert budget.refusal == (
        "Your monthly AI budget is spent (0.50 of 0.50 in cost). It renews on the 1st at 00:00 UTC."
    )


async def test_an_answer_may_use_what_every_limit_leaves(people: People) -> None:
    await spent(people.plain, 600, cost="0.004")
    price = Price(prompt=Decimal(1), completion=Decimal(2))  # per million tokens
    budget = await budget_of(
        people.plain,
        settings(ai_budget_daily_tokens=1000, ai_budget_daily_cost=0.005),
        NOW,
    )

    # Tokens: 400 left, less a 100-token prompt. Cost: 0.001 left, less the prompt's 0.0001,
    # at 0.000002 a token: 450.
    assert budget.max_completion_tokens(price, 100) == 300
    assert budget.max_completion_tokens(price, 10) == 390
    # A free model is held by the token limit only; a prompt past the limit still gets 1.
    assert budget.max_completion_tokens(FREE, 100) == 300
    assert budget.max_completion_tokens(FREE, 5000) == 1


async def test_a_users_own_row_wins_and_groups_give_their_most_generous_limit(
    people: People,
) -> None:
    (members,) = (
        await Group.select(Group.id).where(Group.name == MEMBERS_GROUP).output(as_list=True)
    )
    others = (await Group.insert(Group(name="others")))[0]["id"]
    await Membership.insert(Membership(user=people.member, group=others))
    defaults = settings(ai_budget_daily_tokens=100, ai_budget_monthly_tokens=1000)

    async def limits(user: int) -> dict[str, Decimal]:
        budget = await budget_of(user, defaults, NOW)
        return {limit.period: limit.allowed for limit in budget.limits}

    await AiBudget.insert(
        AiBudget(group=members, daily_tokens=500),
        AiBudget(group=others, daily_tokens=700, monthly_tokens=None),
    )
    assert await limits(people.member) == {"daily": 700, "monthly": 1000}
    assert await limits(people.plain) == {"daily": 100, "monthly": 1000}  # in no group

    # 0 is no limit: the most generous of all.
    await AiBudget.update({AiBudget.daily_tokens: 0}).where(AiBudget.group == members)
    assert await limits(people.member) == {"monthly": 1000}

    # The user's own row wins over the groups', limit by limit.
    await AiBudget.insert(AiBudget(user=people.member, daily_tokens=50))
    assert await limits(people.member) == {"daily": 50, "monthly": 1000}

    # A row naming a user and a group is that user's only.
    third = (await Group.insert(Group(name="third")))[0]["id"]
    await Membership.insert(Membership(user=people.member, group=third))
    await AiBudget.insert(AiBudget(user=people.plain, group=third, monthly_tokens=5))
    assert await limits(people.plain) == {"daily": 100, "monthly": 5}
    await AiBudget.delete().where(AiBudget.user == people.member)
    assert await limits(people.member) == {"monthly": 1000}


async def test_a_call_is_logged_with_its_cost_from_the_price_table(people: People) -> None:
    call = Call(people.plain, "chat", "gpt-4o-mini")
    call.usage.prompt_tokens, call.usage.completion_tokens = 1234, 567
    call.usage.estimated = False

    await call.record(settings(ai_prices=("gpt-4o-mini=0.15/0.60",)), "complete")

    row = await AiCall.select().first()
    assert row is not None
    assert row["cost"] == Decimal("0.000525")  # 0.0005253, kept to six places
    assert (row["user"], row["model"], row["prompt_tokens"], row["completion_tokens"]) == (
        people.plain,
        "gpt-4o-mini",
        1234,
        567,
    )
    assert (row["outcome"], row["error"], row["tokens_estimated"]) == ("complete", "", False)
    assert row["latency_ms"] >= 0
