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


async def ai_spend(since: datetime.datetime, top: int = TOP) -> AiSpend:
    return AiSpend(
        since=since,
        by_user=await _spend(AiCall.user.username, since, top),
        by_model=await _spend(AiCall.model, since, top),
    )


# Both token columns, summed in the database: with no prices set every cost is 0, and the
# largest spenders are the largest users of tokens.
TOKENS = QueryString('SUM("ai_call"."prompt_tokens" + "ai_call"."completion_tokens") AS "tokens"')


async def _spend(label: Column, since: datetime.datetime, top: int) -> list[Spend]:
    rows: list[dict[str, Any]] = await (
        AiCall.select(
            label.as_alias("label"),
            Count(alias="calls"),
            TOKENS,
            Sum(AiCall.cost, alias="cost"),
        )
        .where(AiCall.at >= since)
        .group_by(label)
        # By the aliases: PostgreSQL and SQLite both sort by an output column's name.
        .order_by(QueryString('"cost"'), ascending=False)
        .order_by(QueryString('"tokens"'), ascending=False)
        .limit(top)
    )
    spend = [
        Spend(
            label=row["label"] if row["label"] is not None else DELETED_ACCOUNT,
            calls=row["calls"],
            tokens=row["tokens"] or 0,
            # SQLite sums a Numeric column as a float: back to the column's six places.
            cost=Decimal(str(row["cost"] or 0)).quantize(COST_PLACES),
        )
        for row in rows
    ]
    # Equal costs and tokens by name, the same on both databases.
    spend.sort(key=lambda item: (-item.cost, -item.tokens, item.label))
    return spend
