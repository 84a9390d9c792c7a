"""The call log: every LLM and embedding call, written when it ends (bandstand/ai/tables.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Literal

import anyio

from bandstand.ai.prices import COST_PLACES, price_of
from bandstand.ai.providers import Usage
from bandstand.ai.tables import AiCall
from bandstand.settings import Settings

Kind = Literal["chat", "embedding"]
Outcome = Literal["complete", "limited", "failed", "interrupted"]


@dataclass
class Call:
    """One call being made: its `usage` is filled by the provider; `record` writes it down."""

    user_id: int | None
    kind: Kind
    model: str
    usage: Usage = field(default_factory=Usage)
    started: float = field(default_factory=anyio.current_time)

    async def record(self, settings: Settings, outcome: Outcome, error: str = "") -> None:
        usage = self.usage
        price = price_of(settings.ai_prices, self.model)
        await AiCall.insert(
            AiCall(
                at=datetime.datetime.now(datetime.UTC),
                user=self.user_id,
                kind=self.kind,
                model=self.model[:200],
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                tokens_estimated=usage.estimated,
                cost=price.cost(usage.prompt_tokens, usage.completion_tokens).quantize(COST_PLACES),
                latency_ms=round((anyio.current_time() - self.started) * 1000),
                outcome=outcome,
                error=error.replace("\0", ""),
            )
        )
