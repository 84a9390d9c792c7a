import msgspec

from bandstand.ai.spend import AiSpend


class Point(msgspec.Struct):
    """One bar or point of a chart: a category name, a price band or an ISO date (UTC day)."""

    label: str
    count: int


class Dashboard(msgspec.Struct):
    products_per_category: list[Point]
    price_distribution: list[Point]
    registrations_per_day: list[Point]
    # This month's (UTC) AI calls: the largest spenders and the models they used.
    ai_spend: AiSpend
