"""What each model costs: AI_PRICES, per million tokens, "model=prompt/completion,…"."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

MILLION = Decimal(1_000_000)
# What the call log keeps of a cost (its column is Numeric(14, 6)).
COST_PLACES = Decimal("0.000001")
_ENTRY = re.compile(r"(?P<model>[^=\s]+)=(?P<prompt>\d+(\.\d+)?)/(?P<completion>\d+(\.\d+)?)")


class PriceError(ValueError):
    """An AI_PRICES entry is malformed; the message says which and what is expected."""


@dataclass(frozen=True)
class Price:
    """Per million tokens."""

    prompt: Decimal
    completion: Decimal

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        return (self.prompt * prompt_tokens + self.completion * completion_tokens) / MILLION


FREE = Price(Decimal(0), Decimal(0))


@cache
def price_table(entries: tuple[str, ...]) -> Mapping[str, Price]:
    """The table AI_PRICES (already split at its commas) describes."""
    table: dict[str, Price] = {}
    for entry in entries:
        match = _ENTRY.fullmatch(entry)
        if match is None:
            raise PriceError(
                f"{entry!r} is not model=prompt/completion, prices per million tokens, "
                "such as gpt-4o-mini=0.15/0.60"
            )
        if match["model"] in table:
            raise PriceError(f"{match['model']!r} is priced twice")
        table[match["model"]] = Price(Decimal(match["prompt"]), Decimal(match["completion"]))
    return table


def price_of(entries: tuple[str, ...], model: str) -> Price:
    return price_table(entries).get(model, FREE)
