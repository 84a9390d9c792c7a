"""AI calls in the call log, as earlier requests would have left them: for testing budgets and
what staff see of the spend."""

from __future__ import annotations

import datetime
from decimal import Decimal

from bandstand.ai.tables import AiCall


async def logged_call(
    user: int | None,
    tokens: tuple[int, int],
    *,
    cost: str = "0",
    model: str = "some-model",
    at: datetime.datetime | None = None,
) -> None:
    """A complete chat call of `user` (None: a deleted account), with (prompt, completion)
    tokens, at `at` (by default now)."""
    await AiCall.insert(
        AiCall(
            at=at or datetime.datetime.now(datetime.UTC),
            user=user,
            kind="chat",
            model=model,
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
            tokens_estimated=False,
            cost=Decimal(cost),
            latency_ms=1,
            outcome="complete",
            error="",
        )
    )
