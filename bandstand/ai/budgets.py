"""What a user may still spend on AI calls today and this month, from the call log.

A call is refused once a limit is reached, warned about from WARN_AT of one, and told how many
tokens it may use (`max_completion_tokens`) so that its answer stops at the limit, with a
message, rather than going past it or being cut without one.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from piccolo.query.functions.aggregate import Sum

from bandstand.accounts.tables import Membership
from bandstand.ai.prices import COST_PLACES, Price
from bandstand.ai.tables import AiBudget, AiCall
from bandstand.settings import Settings

WARN_AT = 0.8
Period = Literal["daily", "monthly"]
Unit = Literal["tokens", "cost"]
LIMITS: tuple[tuple[Period, Unit], ...] = (
    ("daily", "tokens"),
    ("monthly", "tokens"),
    ("daily", "cost"),
    ("monthly", "cost"),
)


@dataclass(frozen=True)
class Limit:
    period: Period
    unit: Unit
    allowed: Decimal
    spent: Decimal

    @property
    def used(self) -> float:
        return float(self.spent / self.allowed)

    @property
    def left(self) -> Decimal:
        return max(self.allowed - self.spent, Decimal(0))

    def describe(self) -> str:
        if self.unit == "tokens":
            return f"{self.spent:,.0f} of {self.allowed:,.0f} tokens"
        return f"{self.spent:,.2f} of {self.allowed:,.2f} in cost"


@dataclass(frozen=True)
class Budget:
    """The user's limits that are set (not 0), each with what was spent against it."""

    limits: tuple[Limit, ...]

    @property
    def tightest(self) -> Limit | None:
        return max(self.limits, key=lambda limit: limit.used, default=None)

    @property
    def spent(self) -> bool:
        tightest = self.tightest
        return tightest is not None and tightest.used >= 1

    @property
    def refusal(self) -> str:
        limit = self.tightest
        assert limit is not None
        renews = "at 00:00 UTC" if limit.period == "daily" else "on the 1st at 00:00 UTC"
        return f"Your {limit.period} AI budget is spent ({limit.describe()}). It renews {renews}."

    @property
    def warning(self) -> str:
        """A line for the user once a limit is WARN_AT used, else ""."""
        limit = self.tightest
        if limit is None or limit.used < WARN_AT:
            return ""
        return (
            f"You have used {math.floor(limit.used * 100)}% of your {limit.period} AI budget "
            f"({limit.describe()})."
        )

    def max_completion_tokens(self, price: Price, prompt_tokens: int) -> int | None:
        """The most an answer may use and stay within every limit (at least 1), or None."""
        most: list[Decimal] = []
        for limit in self.limits:
            if limit.unit == "tokens":
                most.append(limit.left - prompt_tokens)
            elif price.completion:
                money_left = limit.left - price.cost(prompt_tokens, 0)
                most.append(money_left / price.cost(0, 1))
        return max(1, math.floor(min(most))) if most else None


UNLIMITED = Budget(())


def period_starts(now: datetime.datetime) -> dict[Period, datetime.datetime]:
    day = now.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"daily": day, "monthly": day.replace(day=1)}


async def budget_of(
    user_id: int, settings: Settings, now: datetime.datetime | None = None
) -> Budget:
    allowed = await _allowed(user_id, settings)
    if not any(allowed.values()):
        return UNLIMITED
    starts = period_starts(now or datetime.datetime.now(datetime.UTC))
    spent = {period: await _spent(user_id, start) for period, start in starts.items()}
    return Budget(
        tuple(
            Limit(period, unit, allowed[period, unit], spent[period][unit])
            for period, unit in LIMITS
            if allowed[period, unit]
        )
    )


async def _allowed(user_id: int, settings: Settings) -> dict[tuple[Period, Unit], Decimal]:
    """Each limit: the user's own row's, else the most generous of their groups', else the
    setting's; 0 is no limit."""
    allowed: dict[tuple[Period, Unit], Decimal] = {
        ("daily", "tokens"): Decimal(settings.ai_budget_daily_tokens),
        ("monthly", "tokens"): Decimal(settings.ai_budget_monthly_tokens),
        ("daily", "cost"): Decimal(str(settings.ai_budget_daily_cost)),
        ("monthly", "cost"): Decimal(str(settings.ai_budget_monthly_cost)),
    }
    groups = Membership.select(Membership.group).where(Membership.user == user_id)
    rows = await AiBudget.select().where(
        (AiBudget.user == user_id) | (AiBudget.group.is_in(groups) & AiBudget.user.is_null())
    )
    own = [row for row in rows if row["user"] == user_id]
    for period, unit in LIMITS:
        column = f"{period}_{unit}"
        if own and own[0][column] is not None:
            allowed[period, unit] = Decimal(own[0][column])
            continue
        granted = [Decimal(row[column]) for row in rows if row[column] is not None]
        if granted:
            allowed[period, unit] = Decimal(0) if 0 in granted else max(granted)
    return allowed


async def _spent(user_id: int, since: datetime.datetime) -> dict[Unit, Decimal]:
    row: dict[str, Any] | None = await (
        AiCall.select(
            Sum(AiCall.prompt_tokens, alias="prompt"),
            Sum(AiCall.completion_tokens, alias="completion"),
            Sum(AiCall.cost, alias="cost"),
        )
        .where((AiCall.user == user_id) & (AiCall.at >= since))
        .first()
    )
    row = row or {}
    # SQLite sums a Numeric column as a float: back to the column's six places.
    cost = Decimal(str(row.get("cost") or 0)).quantize(COST_PLACES)
    return {
        "tokens": Decimal((row.get("prompt") or 0) + (row.get("completion") or 0)),
        "cost": cost,
    }
