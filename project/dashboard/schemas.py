import msgspec


class Point(msgspec.Struct):
    """One bar or point of a chart: a category name, a price band or an ISO date (UTC day)."""

    label: str
    count: int


class Dashboard(msgspec.Struct):
    products_per_category: list[Point]
    price_distribution: list[Point]
    registrations_per_day: list[Point]
