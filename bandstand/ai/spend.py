"""What was spent on AI calls since a moment, per user and per model, from the call log: the
staff's view of the bill."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import msgspec
from piccolo.columns import Column
from piccolo.query.functions.aggregate import Count, Sum
from piccolo.querystring import QueryString

from bandstand.ai.prices import COST_PLACES
from bandstand.ai.tables import AiCall

# The most rows each table shows: the largest spenders.
TOP = 20
DELETED_ACCOUNT = "(deleted account)"


class Spend(msgspec.Struct):
    label: str
    calls: int
    tokens: int
    cost: Decimal


class AiSpend(msgspec.Struct):
    since: datetime.datetime
    by_user: list[Spend]
    by_model: list[Spend]


async def ai_spend(since: datetime.datetime) -> AiSpend:
    return AiSpend(
        since=since,
        by_user=await _spend(AiCall.user.username, since),
        by_model=await _spend(AiCall.model, since),
    )


async def _spend(label: Column, since: datetime.datetime) -> list[Spend]:
    rows: list[dict[str, Any]] = await (
        AiCall.select(
            label.as_alias("label"),
            Count(alias="calls"),
            Sum(AiCall.prompt_tokens, alias="prompt"),
            Sum(AiCall.completion_tokens, alias="completion"),
            Sum(AiCall.cost, alias="cost"),
        )
        .where(AiCall.at >= since)
        .group_by(label)
        # By the alias: PostgreSQL and SQLite both sort by an output column's name.
        .order_by(QueryString('"cost"'), ascending=False)
        .limit(TOP)
    )
    spend = [
        Spend(
            label=row["label"] if row["label"] is not None else DELETED_ACCOUNT,
            calls=row["calls"],
            tokens=(row["prompt"] or 0) + (row["completion"] or 0),
            # SQLite sums a Numeric column as a float: back to the column's six places.
            cost=Decimal(str(row["cost"] or 0)).quantize(COST_PLACES),
        )
        for row in rows
    ]
    # Ties in cost (a free model) by tokens, then by name, the same on both databases.
    spend.sort(key=lambda item: (-item.cost, -item.tokens, item.label))
    return spend
