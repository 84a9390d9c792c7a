"""Compiled queries give what Piccolo's own query gives, on whichever engine the suite runs."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from piccolo.columns import (
    JSON,
    Array,
    Boolean,
    Date,
    Integer,
    Interval,
    Numeric,
    Real,
    Serial,
    Text,
    Time,
    Timestamp,
    Timestamptz,
    Varchar,
)
from piccolo.columns.column_types import UUID
from piccolo.table import Table

from bandstand.database.compiled import CompiledQuery, Slot
from bandstand.database.sqlite import TunedSQLiteEngine, _as_sqlite_text, stored_value_reader
from tests.support.tables import Band, Concert, Manager, Ticket, Venue


@pytest.fixture
async def tickets(test_tables: None) -> list[int]:
    """Five bands of popularity 0 to 4, each with a concert and a ticket; the tickets' ids."""
    manager = (await Manager.insert(Manager(name="Guido")))[0]["id"]
    venue = (await Venue.insert(Venue(name="Arena", capacity=500)))[0]["id"]
    ids = []
    for number in range(5):
        band = (await Band.insert(Band(name=f"Band {number}", manager=manager, popularity=number)))[
            0
        ]["id"]
        concert = Concert(
            band=band,
            venue=venue,
            starts=datetime.datetime(2026, 12, number + 1, 20, tzinfo=datetime.UTC),
            duration=datetime.timedelta(hours=2),
        )
        concert_id = (await Concert.insert(concert))[0]["id"]
        ticket = Ticket(concert=concert_id, price=Decimal(number) + Decimal("0.50"))
        ids.append((await Ticket.insert(ticket))[0]["id"])
    return ids


async def test_rows_are_the_ones_piccolo_returns(tickets: list[int]) -> None:
    def query(ticket_id: object) -> object:
        return Ticket.select(
            Ticket.id,
            Ticket.seat,
            Ticket.price,
            Ticket.concert.starts,
            Ticket.concert._.band._.manager._.name,
        ).where(Ticket.id == ticket_id)

    compiled = CompiledQuery(lambda: query(Slot("id")))  # type: ignore[arg-type, return-value]
    for ticket_id in tickets[:2]:
        expected = await query(ticket_id)  # type: ignore[misc]
        assert [dict(row) for row in await compiled.rows(id=ticket_id)] == expected
        assert isinstance(expected[0]["concert.starts"], datetime.datetime)
        assert isinstance(expected[0]["price"], Decimal)
        assert expected[0]["concert.band.manager.name"] == "Guido"


async def test_each_shape_is_compiled_once_and_each_run_binds_its_values(
    tickets: list[int],
) -> None:
    built: list[tuple[bool, ...]] = []

    def build(above: bool) -> object:
        built.append((above,))
        query = Band.select(Band.popularity).order_by(Band.popularity)
        return query.where(Band.popularity > Slot("popularity")) if above else query

    compiled = CompiledQuery(build, paged=True)  # type: ignore[arg-type]
    page = await compiled.rows(True, popularity=1, limit=2, offset=1)
    assert [row["popularity"] for row in page] == [3, 4]
    first = await compiled.rows(True, popularity=0, limit=2, offset=0)
    assert [row["popularity"] for row in first] == [1, 2]
    last = await compiled.rows(False, limit=9, offset=3)
    assert [row["popularity"] for row in last] == [3, 4]
    assert built == [(True,), (False,)]


async def test_a_missing_value_is_an_error_not_a_null(tickets: list[int]) -> None:
    compiled = CompiledQuery(lambda: Ticket.select().where(Ticket.id == Slot("id")))
    with pytest.raises(KeyError, match="id"):
        await compiled.rows(ident=tickets[0])


class Counter(Table):
    name = Varchar(length=20)
    value = Integer()


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[TunedSQLiteEngine, TunedSQLiteEngine]]:
    # Made outside the event loop: an engine checks the SQLite version as it is made.
    yield TunedSQLiteEngine(tmp_path / "a.sqlite3"), TunedSQLiteEngine(tmp_path / "b.sqlite3")
    Counter._meta.db = None  # type: ignore[assignment]


@pytest.mark.engine_independent
async def test_a_table_moved_to_another_engine_gets_its_sql_again(
    engines: tuple[TunedSQLiteEngine, TunedSQLiteEngine],
) -> None:
    first, second = engines
    for engine, value in ((first, 1), (second, 2)):
        await engine.run_ddl("CREATE TABLE counter (id INTEGER PRIMARY KEY, name, value INTEGER)")
        await engine.run_ddl(f"INSERT INTO counter (name, value) VALUES ('n', {value})")
    compiled = CompiledQuery(lambda: Counter.select(Counter.value))
    Counter._meta.db = first
    assert await compiled.rows() == [{"value": 1}]
    Counter._meta.db = second
    assert await compiled.rows() == [{"value": 2}]


@pytest.mark.engine_independent
async def test_sqlite_integers_come_back_as_piccolo_gives_them(
    engines: tuple[TunedSQLiteEngine, TunedSQLiteEngine],
) -> None:
    engine = engines[0]
    await engine.run_ddl("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)")
    # SQLite keeps what doesn't fit INTEGER affinity as text; Piccolo reads "7.0" as 7.
    await engine.run_ddl(
        "INSERT INTO counter (value) VALUES (9007199254740993), (-5), ('7.0'), ('1e3')"
    )
    rows = await engine.run_ddl("SELECT value FROM counter ORDER BY id")
    assert [row["value"] for row in rows] == [9007199254740993, -5, 7, 1000]
    assert all(type(row["value"]) is int for row in rows)


class Sample(Table):
    """A column of each kind Piccolo converts on SQLite, and some it doesn't."""

    id = Serial(primary_key=True)
    amount = Integer(null=True)
    price = Numeric(digits=(12, 2), null=True)
    ratio = Real(null=True)
    label = Varchar(length=20, null=True)
    body = Text(null=True)
    flag = Boolean(null=True)
    day = Date(null=True)
    at = Time(null=True)
    stamp = Timestamp(null=True)
    moment = Timestamptz(null=True)
    token = UUID(null=True)
    wait = Interval(null=True)
    data = JSON(null=True)
    tags = Array(Varchar(), null=True)


SAMPLES: list[dict[str, Any]] = [
    {
        "amount": 7,
        "price": Decimal("2499.00"),
        "ratio": 0.1 + 0.2,
        "label": "Zürich",
        "body": "line\nbreak",
        "flag": True,
        "day": datetime.date(2026, 11, 26),
        "at": datetime.time(7, 30, 15),
        "stamp": datetime.datetime(2026, 11, 26, 7, 30, 15, 123456),
        "moment": datetime.datetime(2026, 11, 26, 7, 30, tzinfo=datetime.UTC),
        "wait": datetime.timedelta(hours=1, seconds=5),
        "data": '{"a": [1, 2]}',
        "tags": ["a", "b"],
    },
    # SQLite keeps NUMERIC values as REAL where they aren't whole: these are read through the
    # text SQLite renders for a REAL, as Piccolo's converter is fed it.
    {"price": Decimal("0.30000000000000004"), "flag": False},
    {"price": Decimal("1E+20"), "amount": -5},
    {"price": Decimal("7.99"), "ratio": 1e-20},
    {"price": Decimal("-12.5")},
    {},  # all NULL
]


@pytest.fixture
def sample_engine(tmp_path: Path) -> Iterator[TunedSQLiteEngine]:
    engine = TunedSQLiteEngine(tmp_path / "sample.sqlite3")
    Sample._meta.db = engine
    yield engine
    engine.close_query_threads()
    Sample._meta.db = None  # type: ignore[assignment]


@pytest.mark.engine_independent
async def test_sqlite_rows_read_as_stored_are_the_ones_piccolo_returns(
    sample_engine: TunedSQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await Sample.create_table()
    await Sample.insert(*(Sample(**values) for values in SAMPLES))
    stored_reads: list[str] = []
    fetch = sample_engine._fetch_stored_on_thread

    def spy(query: str, args: list[object]) -> tuple[list[str], list[tuple[object, ...]]]:
        stored_reads.append(query)
        return fetch(query, args)

    monkeypatch.setattr(sample_engine, "_fetch_stored_on_thread", spy)
    compiled = CompiledQuery(lambda: Sample.select().order_by(Sample.id))

    rows = [dict(row) for row in await compiled.rows()]

    assert stored_reads  # no converter ran on the query thread
    assert rows == await Sample.select().order_by(Sample.id)
    assert rows[0]["price"] == Decimal("2499.00")
    assert rows[1]["price"] == Decimal("0.3")
    assert rows[0]["moment"] == SAMPLES[0]["moment"]
    assert rows[0]["tags"] == ["a", "b"]


@pytest.mark.engine_independent
async def test_sqlite_inserts_return_what_piccolo_returns(
    sample_engine: TunedSQLiteEngine,
) -> None:
    await Sample.create_table()
    columns = (Sample.id, Sample.price, Sample.day, Sample.moment, Sample.flag)
    compiled = CompiledQuery(
        lambda: Sample.insert(
            Sample(price=Slot("price"), day=Slot("day"), moment=Slot("moment"), flag=True)
        ).returning(*columns)
    )
    values = SAMPLES[0]

    (inserted,) = await compiled.rows(
        price=values["price"], day=values["day"], moment=values["moment"]
    )

    assert dict(inserted) == (await Sample.select(*columns).where(Sample.id == inserted["id"]))[0]
    assert inserted["moment"] == values["moment"]
    assert inserted["flag"] is True


@pytest.mark.engine_independent
async def test_inside_a_transaction_a_compiled_query_reads_on_its_connection(
    sample_engine: TunedSQLiteEngine,
) -> None:
    await Sample.create_table()
    compiled = CompiledQuery(lambda: Sample.select(Sample.label, Sample.moment))
    moment = SAMPLES[0]["moment"]
    async with sample_engine.transaction():
        await Sample.insert(Sample(label="uncommitted", moment=moment))
        # Not yet committed: only the transaction's own connection sees the row.
        assert await compiled.rows() == [{"label": "uncommitted", "moment": moment}]


# Read twice each, in this order: a remembered value must not stand in for another.
STORED_NUMERIC = [0.99, 0.99, 0.0, -0.0, 2499.0, 0.1 + 0.2, 1e20, -12.5, 3, "2.50", float("nan")]
STORED_TIMESTAMPTZ = [
    "2026-11-26 07:30:00.123456+00:00",  # as Piccolo writes it
    "2026-11-26T07:30:00Z",
    "2026-11-26 07:30:00",  # written by other means: Piccolo labels these UTC
    "2026-11-26 07:30:00+02:00",
    b"2026-11-26 07:30:00+00:00",
]


@pytest.mark.engine_independent
@pytest.mark.parametrize(
    ("column_type", "stored"),
    [("NUMERIC", STORED_NUMERIC), ("TIMESTAMPTZ", STORED_TIMESTAMPTZ)],
)
def test_sqlite_value_readers_give_exactly_what_piccolos_converters_give(
    column_type: str, stored: list[Any]
) -> None:
    read = stored_value_reader(column_type)
    assert read is not None
    convert = sqlite3.converters[column_type]
    for value in stored * 2:
        # repr tells Decimal("-0.0") from Decimal("0.0"), and one time zone from another.
        assert repr(read(value)) == repr(convert(_as_sqlite_text(value).encode())), value
