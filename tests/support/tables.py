"""Tables that exist only for the framework's tests, like Piccolo's own test suite's: bands,
their managers and genres, venues, concerts and tickets, albums and fans (the sample site's,
tests/support/sample/), and a table of every column type.

They belong to no Piccolo app, so no migration makes them and no demo is needed: `create(engine)`
makes them on an engine, and the `test_tables` fixture on the run's database. Removing every
demo from the site removes none of the framework's tests.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from decimal import Decimal

import pytest
from piccolo.columns import (
    JSON,
    JSONB,
    UUID,
    Array,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    Interval,
    Numeric,
    Real,
    Secret,
    Serial,
    Text,
    Timestamp,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.m2m import M2M
from piccolo.columns.readable import Readable
from piccolo.columns.reference import LazyTableReference
from piccolo.engine.base import Engine
from piccolo.table import Table, sort_table_classes


class Manager(Table):
    id: Serial
    name = Varchar(length=50)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class Band(Table):
    id: Serial
    name = Varchar(length=50, unique=True)
    manager = ForeignKey(Manager, null=True, on_delete=OnDelete.set_null)
    popularity = Integer(default=0)
    genres = M2M(LazyTableReference("GenreToBand", module_path=__name__))


class Genre(Table):
    id: Serial
    name = Varchar(length=50)
    bands = M2M(LazyTableReference("GenreToBand", module_path=__name__))


class GenreToBand(Table):
    id: Serial
    band = ForeignKey(Band, on_delete=OnDelete.cascade)
    genre = ForeignKey(Genre, on_delete=OnDelete.cascade)


class Venue(Table):
    id: Serial
    name = Varchar(length=100)
    capacity = Integer(default=0, secret=True)


class Concert(Table):
    id: Serial
    band = ForeignKey(Band, on_delete=OnDelete.cascade)
    venue = ForeignKey(Venue, on_delete=OnDelete.cascade)
    starts = Timestamptz()
    duration = Interval()


class Ticket(Table):
    id: Serial
    concert = ForeignKey(Concert, on_delete=OnDelete.cascade)
    price = Numeric(digits=(7, 2))
    seat = Varchar(length=10, choices=None, null=True)


class Album(Table):
    """A band's record, for the sample site's catalog-like pages and API."""

    id: Serial
    title = Varchar(length=200)
    description = Text(default="")
    price = Numeric(digits=(10, 2))
    band = ForeignKey(Band, on_delete=OnDelete.cascade)
    created_at = Timestamptz()


class Fan(Table):
    """Someone who joined a band's fan list, for the sample site's public form and API."""

    id: Serial
    name = Varchar(length=200)
    email = Varchar(length=254, unique=True)
    band = ForeignKey(Band, on_delete=OnDelete.cascade)
    notes = Text(default="")
    # A storage key (bandstand/storage), never a path or a name the browser sent.
    photo = Varchar(length=100, null=True, default=None)
    joined_at = Timestamptz()


class Everything(Table):
    """One column of each type, all nullable, for the types' round trips."""

    id: Serial
    text = Text(null=True, default=None)
    varchar = Varchar(length=200, null=True, default=None)
    integer = Integer(null=True, default=None)
    real = Real(null=True, default=None)
    numeric = Numeric(digits=(12, 4), null=True, default=None)
    boolean = Boolean(null=True, default=None)
    date = Date(null=True, default=None)
    timestamp = Timestamp(null=True, default=None)
    timestamptz = Timestamptz(null=True, default=None)
    interval = Interval(null=True, default=None)
    uuid = UUID(null=True, default=None)
    bytes = Bytea(null=True, default=None)
    json = JSON(null=True, default=None)
    jsonb = JSONB(null=True, default=None)
    tags = Array(Varchar(), null=True, default=None)
    secret = Secret(null=True, default=None)


TABLES: list[type[Table]] = sort_table_classes(
    [Manager, Band, Genre, GenreToBand, Venue, Concert, Ticket, Album, Fan, Everything]
)


def bind(engine: Engine) -> None:  # type: ignore[type-arg]
    """Point the test tables at `engine`."""
    for table in TABLES:
        table._meta.db = engine


async def create(engine: Engine | None = None) -> None:  # type: ignore[type-arg]
    """Make the test tables on `engine` (by default the one they are bound to), if missing."""
    if engine is not None:
        bind(engine)
    for table in TABLES:
        await table.create_table(if_not_exists=True)


async def empty() -> None:
    """Delete every row of the test tables, children first."""
    for table in reversed(TABLES):
        await table.delete(force=True)


async def drop() -> None:
    for table in reversed(TABLES):
        await table.alter().drop_table(if_exists=True)


async def sample_rows() -> dict[str, int]:
    """A small, fixed set of rows across the tables; their ids by name."""
    manager = (await Manager.insert(Manager(name="Guido")))[0]["id"]
    band = (await Band.insert(Band(name="Pythonistas", manager=manager, popularity=1000)))[0]["id"]
    other = (await Band.insert(Band(name="Rustaceans", popularity=500)))[0]["id"]
    venue = (await Venue.insert(Venue(name="Arena", capacity=5000)))[0]["id"]
    concert = (
        await Concert.insert(
            Concert(
                band=band,
                venue=venue,
                starts=datetime.datetime(2026, 12, 6, 20, tzinfo=datetime.UTC),
                duration=datetime.timedelta(hours=2),
            )
        )
    )[0]["id"]
    ticket = (await Ticket.insert(Ticket(concert=concert, price=Decimal("49.99"))))[0]["id"]
    everything = (
        await Everything.insert(
            Everything(
                text="zoë ✓",
                varchar="naïve",
                integer=7,
                real=1.5,
                numeric=Decimal("1234.5678"),
                boolean=True,
                date=datetime.date(2026, 12, 6),
                timestamp=datetime.datetime(2026, 12, 6, 21, 0, 0),
                timestamptz=datetime.datetime(2026, 12, 6, 21, 0, 0, tzinfo=datetime.UTC),
                interval=datetime.timedelta(days=1, seconds=5),
                uuid=uuid.UUID("12345678-1234-5678-1234-567812345678"),
                bytes=b"\x00\xffbytes",
                json='{"a": [1, 2]}',
                jsonb='{"b": {"c": null}}',
                tags=["x", "y"],
                secret="s3cret",
            )
        )
    )[0]["id"]
    return {
        "manager": manager,
        "band": band,
        "other_band": other,
        "venue": venue,
        "concert": concert,
        "ticket": ticket,
        "everything": everything,
    }


@pytest.fixture(scope="session")
def tables_made() -> None:
    """Made once per run on the run's database, outside any event loop."""
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    assert engine is not None
    asyncio.run(create(engine))
    if hasattr(engine, "close_query_threads"):  # the run's loop here is not the tests' loop
        engine.close_query_threads()


@pytest.fixture
async def test_tables(tables_made: None) -> None:
    """The test tables on the run's database, empty."""
    await empty()
