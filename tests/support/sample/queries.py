"""The sample site's reads and writes: search, filter, sort and pages over albums; fans who
join a band (a row and the band's count, in one transaction) and their photos."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from piccolo.columns import Column
from piccolo.query.methods import Count, Select
from piccolo.query.mixins import OrderByRaw

from bandstand.database.search import contains_text
from bandstand.forms import FieldError, refuse_nul
from bandstand.pagination import Page
from bandstand.storage.base import Storage, new_key
from bandstand.storage.images import CleanImage
from tests.support.sample.schemas import AlbumIn, AlbumOut, AlbumSort, BandOut, FanIn, FanOut
from tests.support.tables import Album, Band, Fan

CENTS = Decimal("0.01")
PHOTO_FOLDER = "fans"
NO_SUCH_BAND = "Choose one of the bands."
TAKEN = "This e-mail address has already joined."
# By title regardless of case, the same on both engines (SQLite's default collation is binary).
BY_TITLE = OrderByRaw("LOWER(album.title)")
ORDER: dict[AlbumSort, tuple[Column | OrderByRaw, bool]] = {
    "title": (BY_TITLE, True),
    "-title": (BY_TITLE, False),
    "price": (Album.price, True),
    "-price": (Album.price, False),
    "newest": (Album.created_at, False),
}
ALBUM_COLUMNS = (
    Album.id,
    Album.title,
    Album.description,
    Album.price,
    Album.created_at,
    Album.band.id.as_alias("band_id"),
    Album.band.name.as_alias("band_name"),
)
FAN_COLUMNS = (
    Fan.id,
    Fan.name,
    Fan.email,
    Fan.notes,
    Fan.photo,
    Fan.joined_at,
    Fan.band.id.as_alias("band_id"),
    Fan.band.name.as_alias("band_name"),
)


class FanTaken(FieldError):
    def __init__(self) -> None:
        super().__init__("email", TAKEN)


def _album(row: Mapping[str, Any]) -> AlbumOut:
    return AlbumOut(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        # SQLite hands back 12 where PostgreSQL says 12.00.
        price=Decimal(row["price"]).quantize(CENTS),
        band=BandOut(id=row["band_id"], name=row["band_name"]),
        created_at=row["created_at"],
    )


def _fan(row: Mapping[str, Any]) -> FanOut:
    return FanOut(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        band=BandOut(id=row["band_id"], name=row["band_name"]),
        notes=row["notes"],
        has_photo=row["photo"] is not None,
        joined_at=row["joined_at"],
    )


async def bands() -> list[BandOut]:
    rows = await Band.select(Band.id, Band.name).order_by(Band.name)
    return [BandOut(**row) for row in rows]


async def find_albums(
    search: str = "", band: str = "", sort: AlbumSort = "title", page: int = 1, size: int = 20
) -> tuple[list[AlbumOut], Page]:
    search = search.strip()
    if "\0" in search or "\0" in band:
        # No stored text holds NUL (PostgreSQL refuses it, in a query too).
        return [], Page.of(page, size, 0)
    query: Select[Album] = Album.select(*ALBUM_COLUMNS)
    count: Count = Album.count()
    if search:
        where = contains_text(search, Album.title, Album.description)
        query, count = query.where(where), count.where(where)
    if band:
        query, count = query.where(Album.band.name == band), count.where(Album.band.name == band)
    found = Page.of(page, size, await count)
    column, ascending = ORDER[sort]
    rows = await (
        query.order_by(column, ascending=ascending)
        .order_by(Album.id)  # a stable order across pages
        .limit(found.size)
        .offset(found.offset)
    )
    return [_album(row) for row in rows], found


async def get_album(album_id: int) -> AlbumOut | None:
    row = await Album.select(*ALBUM_COLUMNS).where(Album.id == album_id).first()
    return _album(row) if row else None


async def save_album(data: AlbumIn, album_id: int | None = None) -> AlbumOut:
    """Insert (or update, given `album_id`) and return the stored album. Raises `FieldError`
    for a band that doesn't exist and `LookupError` for a missing album."""
    refuse_nul(data)
    if not await Band.exists().where(Band.id == data.band_id):
        raise FieldError("band_id", NO_SUCH_BAND)
    values: dict[Column, Any] = {
        Album.title: data.title,
        Album.description: data.description,
        Album.price: data.price,
        Album.band: data.band_id,
    }
    if album_id is None:
        values[Album.created_at] = datetime.datetime.now(datetime.UTC)
        album_id = (await Album.insert(Album(_data=values)))[0]["id"]
    elif (
        not await Album.update(cast("dict[Column | str, Any]", values))
        .where(Album.id == album_id)
        .returning(Album.id)
    ):
        raise LookupError(album_id)
    album = await get_album(album_id)
    assert album is not None
    return album


async def delete_album(album_id: int) -> bool:
    """Whether there was such an album to delete."""
    return bool(await Album.delete().where(Album.id == album_id).returning(Album.id))


async def join(data: FanIn) -> FanOut:
    """The new fan, and one more for the band's popularity, in one transaction: a fan is never
    stored without being counted, or counted without being stored. Raises `FanTaken` for an
    address that has joined already, `FieldError` for a band that doesn't exist or text
    holding NUL."""
    refuse_nul(data)
    async with Fan._meta.db.transaction():
        band = await Band.select(Band.name).where(Band.id == data.band_id).first()
        if band is None:
            raise FieldError("band_id", NO_SUCH_BAND)
        # One statement: a taken address inserts nothing, however many requests race.
        rows = (
            await Fan.insert(
                Fan(
                    name=data.name.strip(),
                    email=data.email,
                    band=data.band_id,
                    notes=data.notes,
                    photo=None,
                    joined_at=datetime.datetime.now(datetime.UTC),
                )
            )
            .on_conflict(target=Fan.email, action="DO NOTHING")
            .returning(Fan.id, Fan.name, Fan.email, Fan.notes, Fan.photo, Fan.joined_at)
        )
        if not rows:
            raise FanTaken
        await Band.update({Band.popularity: Band.popularity + 1}).where(Band.id == data.band_id)
    # Nothing read after the commit: an outage then would answer 503 for a stored fan.
    return _fan({**rows[0], "band_id": data.band_id, "band_name": band["name"]})


async def find_fans(search: str, page: int, size: int) -> tuple[list[FanOut], Page]:
    if "\0" in search:
        return [], Page.of(page, size, 0)
    query: Select[Fan] = Fan.select(*FAN_COLUMNS)
    count: Count = Fan.count()
    if search := search.strip():
        where = contains_text(search, Fan.name, Fan.email, Fan.notes)
        query, count = query.where(where), count.where(where)
    found = Page.of(page, size, await count)
    rows = await (
        query.order_by(Fan.joined_at, ascending=False)
        .order_by(Fan.id, ascending=False)
        .limit(found.size)
        .offset(found.offset)
    )
    return [_fan(row) for row in rows], found


async def get_fan(fan_id: int) -> FanOut | None:
    row = await Fan.select(*FAN_COLUMNS).where(Fan.id == fan_id).first()
    return _fan(row) if row else None


async def photo_of(fan_id: int) -> str | None:
    row = await Fan.select(Fan.photo).where(Fan.id == fan_id).first()
    if row is None:
        raise LookupError(fan_id)
    photo: str | None = row["photo"]
    return photo


async def set_photo(storage: Storage, fan_id: int, image: CleanImage | None) -> str | None:
    """Store `image` as the fan's photo (None removes it) and delete the file it replaces.
    Returns the new key. Raises LookupError for a missing fan."""
    new = new_key(PHOTO_FOLDER, image.extension) if image else None
    if image and new:
        await storage.save(new, image.data, image.content_type)
    try:
        async with Fan._meta.db.transaction():
            old = await photo_of(fan_id)
            await Fan.update({Fan.photo: new}).where(Fan.id == fan_id)
    except Exception:
        # The row still names the old file: the new one would be an orphan.
        if new:
            await storage.delete(new)
        raise
    if old:
        await storage.delete(old)
    return new
