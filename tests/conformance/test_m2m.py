"""Many-to-many: add_m2m, get_m2m and remove_m2m, outside and inside a transaction.

Inside one, `add_m2m` opens a transaction of its own, which nests in the caller's: on SQLite
Bandstand's engine failed there as the inner one ended ("'WriteSafeTransaction' object has no
attribute 'connection'"), where Piccolo's engine carried on (issue 24)."""

from __future__ import annotations

from piccolo.table import Table

from tests.conformance.data import seed
from tests.conformance.harness import AnyEngine, Backend, same_on_both
from tests.support.tables import Band, Genre, GenreToBand


class Rollback(Exception):
    pass


def by_name(rows: list[Table]) -> list[Table]:
    # get_m2m's order is the database's: sorted, so that only what it returns is compared.
    return sorted(rows, key=lambda row: str(row.name))  # type: ignore[attr-defined]


async def test_m2m_outside_a_transaction(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        await seed()
        gophers = await Band.objects().get(Band.name == "Gophers")
        folk = await Genre.objects().get(Genre.name == "Folk")
        jazz = await Genre.objects().get(Genre.name == "Jazz")
        assert gophers is not None
        assert folk is not None
        assert jazz is not None
        before = by_name(await gophers.get_m2m(Band.genres))
        await gophers.add_m2m(folk, m2m=Band.genres)
        await gophers.add_m2m(Genre(name="Blues"), m2m=Band.genres)
        added = by_name(await gophers.get_m2m(Band.genres))
        await gophers.remove_m2m(folk, m2m=Band.genres)
        return {
            "before": before,
            "added": added,
            "removed": by_name(await gophers.get_m2m(Band.genres)),
            "from the other side": by_name(await jazz.get_m2m(Genre.bands)),
            "select": await Band.select(Band.name, Band.genres(Genre.name, as_list=True))
            .order_by(Band.id)
            .output(load_json=True),
            "select rows": await Genre.select(Genre.name, Genre.bands(Band.id, Band.name))
            .order_by(Genre.id)
            .output(load_json=True),
            "joins": await GenreToBand.select(
                GenreToBand.band.name, GenreToBand.genre.name
            ).order_by(GenreToBand.id),
        }

    result = await same_on_both(backend, scenario)
    assert [genre["name"] for genre in result["added"]] == ["Blues", "Folk"]


async def test_m2m_inside_a_transaction(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        await seed()
        async with engine.transaction():
            band = await Band.objects().get(Band.name == "Rustaceans")
            genre = await Genre.objects().get(Genre.name == "Folk")
            rock = await Genre.objects().get(Genre.name == "Rock")
            assert band is not None
            assert genre is not None
            assert rock is not None
            await band.add_m2m(genre, m2m=Band.genres)
            await band.add_m2m(Genre(name="Metal"), m2m=Band.genres)
            inside = by_name(await band.get_m2m(Band.genres))
            await band.remove_m2m(rock, m2m=Band.genres)
        try:
            async with engine.transaction():
                await band.add_m2m(Genre(name="Punk"), m2m=Band.genres)
                raise Rollback
        except Rollback:
            pass
        return {
            "inside": inside,
            "after": by_name(await band.get_m2m(Band.genres)),
            "rolled back": await Genre.exists().where(Genre.name == "Punk"),
            "links": await GenreToBand.count(),
        }

    result = await same_on_both(backend, scenario)
    assert [genre["name"] for genre in result["after"]] == ["Folk", "Metal"]
