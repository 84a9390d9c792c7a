"""Reads: select, objects, first, get, get_or_create, count, exists, the output options, joins
and reverse foreign keys — the same rows, of the same types, from both engines."""

from __future__ import annotations

from typing import Any

from piccolo.query.functions.aggregate import Avg, Count, Max, Sum

from tests.conformance.data import seed
from tests.conformance.harness import AnyEngine, Backend, same_on_both
from tests.conformance.tables import Booking, FanClub
from tests.support.tables import Band, Concert, Everything, Genre, Manager, Ticket, Venue


async def test_select(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        await seed()
        return {
            "all": await Band.select().order_by(Band.id),
            "some columns": await Band.select(Band.name, Band.popularity)
            .where(Band.popularity > 100)
            .order_by(Band.popularity, ascending=False),
            "like": await Band.select(Band.name).where(Band.name.like("%ist%")),
            # SQLite's LIKE ignores case already (Piccolo warns, and uses it for ILIKE).
            "ilike": await Band.select(Band.name).where(
                Band.name.ilike("GO%") if engine.engine_type != "sqlite" else Band.name.like("GO%")
            ),
            "in": await Band.select(Band.name)
            .where(Band.name.is_in(["Gophers", "C-Sharps", "Nobody"]))
            .order_by(Band.name),
            "null": await Band.select(Band.name).where(Band.manager.is_null()),
            "and or": await Band.select(Band.name)
            .where((Band.popularity < 600) & ((Band.name == "Gophers") | (Band.name == "Rust")))
            .order_by(Band.name),
            "subquery": await Band.select(Band.name)
            .where(Band.id.is_in(Concert.select(Concert.band)))
            .order_by(Band.name),
            "limit offset": await Band.select(Band.name).order_by(Band.name).limit(2).offset(1),
            "distinct": await Band.select(Band.manager).distinct().order_by(Band.manager),
            "aggregates": await Ticket.select(
                Count(), Sum(Ticket.price), Avg(Ticket.price), Max(Ticket.seat)
            ),
            "grouped": await Band.select(Band.manager.name, Count())
            .group_by(Band.manager.name)
            .order_by(Band.manager.name),
            "secrets excluded": await Venue.select(exclude_secrets=True).order_by(Venue.id),
        }

    result = await same_on_both(backend, scenario)
    assert len(result["all"]) == 4
    assert result["like"] == [{"name": "Pythonistas"}]


async def test_objects_first_get_count_exists(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        await seed()
        made = await Band.objects().get_or_create(
            Band.name == "Newcomers", defaults={Band.popularity: 3}
        )
        found = await Band.objects().get_or_create(Band.name == "Gophers")
        return {
            "objects": await Band.objects().order_by(Band.name),
            "prefetched": await Band.objects(Band.manager).order_by(Band.id),
            "first": await Band.objects().order_by(Band.popularity).first(),
            "first of none": await Band.objects().where(Band.popularity > 10**6).first(),
            "select first": await Band.select(Band.name).order_by(Band.id).first(),
            "get": await Band.objects().get(Band.name == "Rustaceans"),
            "get none": await Band.objects().get(Band.name == "Nobody"),
            "created": [made, made._was_created],
            "existing": [found, found._was_created],
            "count": await Band.count(),
            "count where": await Band.count().where(Band.manager.name == "Graydon"),
            "exists": await Band.exists().where(Band.name == "Pythonistas"),
            "not exists": await Band.exists().where(Band.name == "Nobody"),
            "choices": await Booking.objects().order_by(Booking.id),
        }

    result = await same_on_both(backend, scenario)
    assert result["count"] == "int:5"
    assert result["created"][1] == "bool:True"


async def test_output_options(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        await seed()
        await Everything.insert(
            Everything(json='{"a": [1, 2.5, "x"]}', jsonb='{"b": {"c": null, "d": true}}'),
            Everything(),
        )
        select = Concert.select(Concert.id, Concert.band.name, Concert.venue.name, Concert.starts)
        return {
            "as json": await select.order_by(Concert.id).output(as_json=True),
            "nested": await select.order_by(Concert.id).output(nested=True),
            "as list": await Band.select(Band.name).order_by(Band.id).output(as_list=True),
            "objects load json": await Everything.objects().output(load_json=True),
            "load json": await Everything.select(Everything.json, Everything.jsonb).output(
                load_json=True
            ),
            "all columns nested": await Band.select(Band.name, *Band.manager.all_columns())
            .order_by(Band.id)
            .output(nested=True),
        }

    result = await same_on_both(backend, scenario)
    assert result["as list"] == ["Pythonistas", "Rustaceans", "Gophers", "C-Sharps"]


async def test_joins_and_reverse_foreign_keys(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        ids = await seed()
        band = await Band.objects().get(Band.id == ids["Pythonistas"])
        assert band is not None
        # A manager's bands: the foreign key followed from the other end.
        bands_of: Any = Manager.id.join_on(Band.manager)
        return {
            "two levels": await Ticket.select(
                Ticket.price, Ticket.concert._.band._.name, Ticket.concert._.band._.manager._.name
            ).order_by(Ticket.id),
            "where across a join": await Concert.select(Concert.venue.name).where(
                Concert.band._.manager._.name == "Graydon"
            ),
            "reverse": await Manager.select(Manager.name, bands_of.name.as_alias("band")).order_by(
                Manager.id
            ),
            "reverse where": await Manager.select(Manager.name)
            .where(bands_of.popularity > 600)
            .order_by(Manager.name),
            "related": await band.get_related(Band.manager),
            "reverse related": await band.get_related(FanClub.band.reverse()),
            "reverse unique": await Band.select(Band.name, FanClub.band.reverse().address).order_by(
                Band.id
            ),
            "m2m select": await Band.select(Band.name, Band.genres(Genre.name, as_list=True))
            .order_by(Band.id)
            .output(load_json=True),
        }

    result = await same_on_both(backend, scenario)
    assert len(result["reverse"]) == 4  # Graydon twice, Linus with none
