"""Column types: arrays and JSON, timestamps with time zones, Decimal, UUID, bytes, intervals,
choices and secret columns — written and read back, and NULL in each."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from tests.conformance.harness import AnyEngine, Backend, attempt, same_on_both
from tests.conformance.tables import Booking
from tests.support.tables import Everything

PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))

FULL = {
    Everything.text: "zoë ✓ 'quoted' \"double\"",
    Everything.varchar: "naïve",
    Everything.integer: -2_147_483_648,
    Everything.real: 1.5,
    Everything.numeric: Decimal("-12345678.9876"),
    Everything.boolean: False,
    Everything.date: datetime.date(1999, 12, 31),
    Everything.timestamp: datetime.datetime(2026, 12, 6, 21, 0, 0, 123456),
    Everything.timestamptz: datetime.datetime(2026, 12, 6, 23, 30, 0, 654321, tzinfo=PLUS_TWO),
    Everything.interval: datetime.timedelta(days=-1, seconds=5, microseconds=7),
    Everything.uuid: uuid.UUID("12345678-1234-5678-1234-567812345678"),
    Everything.bytes: b"\x00\xff\x00bytes",
    Everything.json: '{"a": [1, 2.5, "x", null], "b": {"c": true}}',
    Everything.jsonb: '{"z": 1, "a": [{"deep": "é"}]}',
    Everything.tags: ["x", "y ✓", ""],
    Everything.secret: "s3cret",
}


async def test_each_type_and_null(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        full = Everything(dict(FULL))
        returned = await Everything.insert(full, Everything()).returning(*FULL)
        other = Everything(
            numeric=Decimal("0.0001"),
            real=-0.0,
            timestamptz=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
            interval=datetime.timedelta(0),
            tags=[],
            json="[]",
            jsonb="{}",
        )
        await Everything.insert(other)
        rows = Everything.select().order_by(Everything.id)
        return {
            "returned": returned,
            "rows": await rows,
            "objects": await Everything.objects().order_by(Everything.id),
            "json loaded": await Everything.select(Everything.json, Everything.jsonb)
            .order_by(Everything.id)
            .output(load_json=True),
            "secrets excluded": await Everything.select(exclude_secrets=True).order_by(
                Everything.id
            ),
            "where null": await Everything.select(Everything.id).where(Everything.uuid.is_null()),
            "where value": await Everything.select(Everything.id).where(
                (Everything.numeric == FULL[Everything.numeric])
                & (Everything.timestamptz == FULL[Everything.timestamptz])
                & (Everything.interval == FULL[Everything.interval])
                & (Everything.uuid == FULL[Everything.uuid])
            ),
            "array any": await attempt(
                Everything.select(Everything.id).where(Everything.tags.any("y ✓"))
            ),
            "set to null": await Everything.update(
                {column: None for column in FULL}, force=True
            ).returning(*FULL),
        }

    result = await same_on_both(backend, scenario)
    assert result["rows"][0]["numeric"] == "Decimal:Decimal('-12345678.9876')"


async def test_choices(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        await Booking.insert(
            Booking(status=Booking.Status.confirmed, contact="x@y.z"),
            Booking(status="x"),
            Booking(),
        )
        return {
            "rows": await Booking.select().order_by(Booking.id),
            "where": await Booking.select(Booking.id).where(
                Booking.status == Booking.Status.cancelled
            ),
            "objects": await Booking.objects().order_by(Booking.id),
        }

    result = await same_on_both(backend, scenario)
    assert [row["status"] for row in result["rows"]] == ["c", "x", "h"]
