"""AI_PRICES: what each model costs, read at start-up; a malformed table stops it."""

from decimal import Decimal

import pytest

from bandstand.ai.prices import FREE, Price, price_of, price_table
from bandstand.settings import SettingsError, load_settings

pytestmark = pytest.mark.engine_independent


def test_the_table_is_read_per_million_tokens() -> None:
    settings = load_settings(
        {"AI_PRICES": "gpt-4o-mini=0.15/0.60, openai/gpt-4.1=2/8,local=0/0"}, env_file=None
    )
    table = price_table(settings.ai_prices)

    assert table == {
        "gpt-4o-mini": Price(Decimal("0.15"), Decimal("0.60")),
        "openai/gpt-4.1": Price(Decimal(2), Decimal(8)),
        "local": FREE,
    }
    # Exact: 1,234 prompt tokens at 0.15 and 567 completion tokens at 0.60 per million.
    assert table["gpt-4o-mini"].cost(1234, 567) == Decimal("0.0005253")
    assert price_of(settings.ai_prices, "unlisted-model") == FREE


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("gpt-4o-mini", "'gpt-4o-mini' is not model=prompt/completion"),
        ("gpt-4o-mini=0.15", "'gpt-4o-mini=0.15' is not model=prompt/completion"),
        ("gpt-4o-mini=-1/2", "'gpt-4o-mini=-1/2' is not model=prompt/completion"),
        ("gpt-4o-mini=1/2/3", "is not model=prompt/completion"),
        ("m=1/2,m=3/4", "'m' is priced twice"),
    ],
)
def test_a_malformed_table_stops_start_up_naming_the_setting(value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"AI_PRICES": value}, env_file=None)
    message = str(caught.value)
    assert message.startswith(f"AI_PRICES={value!r} is not valid: ")
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["AI_BUDGET_DAILY_TOKENS", "AI_BUDGET_MONTHLY_COST"])
def test_a_negative_budget_is_refused(name: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}='-1' is not valid: expected a .*at least 0"):
        load_settings({name: "-1"}, env_file=None)
