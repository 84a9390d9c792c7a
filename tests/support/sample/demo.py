"""The sample site's data: bands with their managers, albums across several pages, and fans,
a few with photos drawn here. Seeded, so every load is the same."""

from __future__ import annotations

import datetime
import io
import random
from decimal import Decimal

import anyio
from PIL import Image, ImageDraw

from bandstand.settings import get_settings
from bandstand.storage.backends import create_storage
from bandstand.storage.images import clean_image
from tests.support.sample.queries import set_photo
from tests.support.tables import Album, Band, Fan, Manager

DEMO_DOMAIN = "fans.sample.example"
BANDS = {
    "Pythonistas": "Guido",
    "Rustaceans": "Graydon",
    "Gophers": "Rob",
    "Camels": "Larry",
    "Rubyists": "Matz",
    "Lispers": "John",
}
WORDS = ["Blue", "Async", "Garbage", "Collected", "Lambda", "Nights", "Typed", "Loose", "Heap"]
ALBUMS = 45  # more than two pages of 20
FANS = 30
PHOTOS = 3
COLOURS = ["#4f46e5", "#0d9488", "#db2777"]


def picture(colour: str) -> bytes:
    """A 64 px PNG: a coloured disc."""
    image = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(image).ellipse((4, 4, 60, 60), fill=colour)
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


async def is_loaded() -> bool:
    return bool(await Fan.exists().where(Fan.email.like(f"%@{DEMO_DOMAIN}")))


async def load() -> None:
    if await is_loaded():
        return
    chance = random.Random(7)
    now = datetime.datetime.now(datetime.UTC)
    band_ids = []
    for name, manager in BANDS.items():
        manager_id = (await Manager.insert(Manager(name=manager)))[0]["id"]
        band_ids.append((await Band.insert(Band(name=name, manager=manager_id)))[0]["id"])
    await Album.insert(
        *(
            Album(
                title=" ".join(chance.sample(WORDS, 2)) + f" {number}",
                description=f"Recorded live, take {number}.",
                price=Decimal(chance.randint(500, 2999)) / 100,
                band=band_ids[number % len(band_ids)],
                created_at=now - datetime.timedelta(days=number),
            )
            for number in range(ALBUMS)
        )
    )
    fans = [
        Fan(
            name=f"Fan {number}",
            email=f"fan{number}@{DEMO_DOMAIN}",
            band=band_ids[number % len(band_ids)],
            notes="Front row, always." if number % 5 == 0 else "",
            joined_at=now - datetime.timedelta(hours=number),
        )
        for number in range(FANS)
    ]
    await Fan.insert(*fans)
    # A band's popularity is its number of fans, as joining keeps it.
    for band in band_ids:
        count = await Fan.count().where(Fan.band == band)
        await Band.update({Band.popularity: count}).where(Band.id == band)
    storage = create_storage(get_settings())
    try:
        # The demo's own fans only: a visitor's may come first.
        rows = (
            await Fan.select(Fan.id)
            .where(Fan.email.like(f"%@{DEMO_DOMAIN}"))
            .order_by(Fan.id)
            .limit(PHOTOS)
        )
        for row, colour in zip(rows, COLOURS, strict=False):
            data = await anyio.to_thread.run_sync(picture, colour)
            await set_photo(storage, row["id"], await clean_image(data, len(data)))
    finally:
        await storage.aclose()


async def clear() -> None:
    storage = create_storage(get_settings())
    try:
        rows = await Fan.select(Fan.id).where(
            Fan.email.like(f"%@{DEMO_DOMAIN}") & Fan.photo.is_not_null()
        )
        for row in rows:
            await set_photo(storage, row["id"], None)
    finally:
        await storage.aclose()
    bands = Band.select(Band.id).where(Band.name.is_in(list(BANDS)))
    await Fan.delete().where(Fan.band.is_in(bands))
    await Album.delete().where(Album.band.is_in(bands))
    await Band.delete().where(Band.name.is_in(list(BANDS)))
    await Manager.delete().where(Manager.name.is_in(list(BANDS.values())))
