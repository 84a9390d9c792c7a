"""The rows most scenarios start from: managers, bands and their genres, venues, concerts,
tickets, a fan club and bookings."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from tests.conformance.tables import Booking, FanClub
from tests.support.tables import Band, Concert, Genre, GenreToBand, Manager, Ticket, Venue

UTC = datetime.UTC


def _ids(rows: list[dict[str, Any]], names: list[str]) -> dict[str, int]:
    return dict(zip(names, (row["id"] for row in rows), strict=True))


async def seed() -> dict[str, int]:
    """Insert the rows (a few statements: each one costs the stock SQLite engine a connection);
    their ids by name."""
    managers = ["Guido", "Graydon", "Linus"]
    ids = _ids(await Manager.insert(*(Manager(name=name) for name in managers)), managers)
    bands = {
        "Pythonistas": ("Guido", 1000),
        "Rustaceans": ("Graydon", 800),
        "Gophers": ("Graydon", 500),
        "C-Sharps": (None, 10),
    }
    rows = await Band.insert(
        *(
            Band(name=name, manager=ids[manager] if manager else None, popularity=popularity)
            for name, (manager, popularity) in bands.items()
        )
    )
    ids |= _ids(rows, list(bands))
    genres = ["Rock", "Jazz", "Folk"]
    ids |= _ids(await Genre.insert(*(Genre(name=name) for name in genres)), genres)
    await GenreToBand.insert(
        *(
            GenreToBand(band=ids[band], genre=ids[genre])
            for band, genre in (
                ("Pythonistas", "Rock"),
                ("Pythonistas", "Jazz"),
                ("Rustaceans", "Rock"),
            )
        )
    )
    venues = {"Arena": 5000, "Club": 200}
    rows = await Venue.insert(*(Venue(name=name, capacity=size) for name, size in venues.items()))
    ids |= _ids(rows, list(venues))
    concerts = {"Pythonistas at Arena": 6, "Rustaceans at Club": 7}
    rows = await Concert.insert(
        *(
            Concert(
                band=ids[name.split(" at ")[0]],
                venue=ids[name.split(" at ")[1]],
                starts=datetime.datetime(2026, 12, day, 20, 30, tzinfo=UTC),
                duration=datetime.timedelta(hours=2, minutes=15),
            )
            for name, day in concerts.items()
        )
    )
    ids |= _ids(rows, list(concerts))
    await Ticket.insert(
        *(
            Ticket(concert=ids[concert], price=Decimal(price), seat=seat)
            for concert, price, seat in (
                ("Pythonistas at Arena", "49.99", "A1"),
                ("Pythonistas at Arena", "49.99", None),
                ("Rustaceans at Club", "15.50", "B7"),
            )
        )
    )
    rows = await FanClub.insert(FanClub(band=ids["Pythonistas"], address="1 Snake Lane"))
    ids |= _ids(rows, ["fan club"])
    await Booking.insert(
        Booking(band=ids["Pythonistas"], status=Booking.Status.confirmed, contact="guido@x.org"),
        Booking(band=ids["Gophers"]),
    )
    return ids
