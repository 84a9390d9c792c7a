"""A test-only feature for a site built with `create_app`: readings, served as JSON, read outside
a transaction and inside one."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath
from piccolo.columns import Integer, Serial
from piccolo.engine.base import Engine
from piccolo.table import Table

from bandstand.features import Feature


class Reading(Table, tablename="conformance_reading"):
    id: Serial
    value = Integer()
    size = Integer()


async def _reading(reading_id: int) -> dict[str, Any]:
    row = await Reading.select(Reading.value, Reading.size).where(Reading.id == reading_id).first()
    assert row is not None
    return {name: [value, type(value).__name__] for name, value in row.items()}


@get("/readings/{reading_id:int}")
async def reading(reading_id: FromPath[int]) -> dict[str, Any]:
    return await _reading(reading_id)


@get("/readings/{reading_id:int}/in-a-transaction")
async def reading_in_a_transaction(
    reading_id: FromPath[int],
    database: NamedDependency[Engine],  # type: ignore[type-arg]
) -> dict[str, Any]:
    async with database.transaction():
        return await _reading(reading_id)


READINGS = Feature("readings", routes=[reading, reading_in_a_transaction], tables=[Reading])
