"""The webinar demo: loaded once, with photos in the configured storage, and cleared with them,
leaving the site's own registrants and their photos alone."""

import datetime

import anyio.to_thread

from bandstand.settings import get_settings
from bandstand.storage.backends import create_storage
from bandstand.storage.images import clean_image
from project.webinars import demo
from project.webinars.queries import set_photo
from project.webinars.tables import Registrant


async def test_demo_loads_once_with_photos_and_clears_them(clean_tables: None) -> None:
    storage = create_storage(get_settings())
    before = set(await storage.keys("registrants"))
    # A real registrant, with a photo, before the demo arrives.
    (ours,) = await Registrant.insert(
        Registrant(
            name="Not a demo",
            email="ours@example.com",
            webinar_date=datetime.date.today(),
            registered_at=datetime.datetime.now(datetime.UTC),
        )
    )
    data = await anyio.to_thread.run_sync(demo.avatar, "ND", demo.COLOURS[0])
    our_photo = await set_photo(storage, ours["id"], await clean_image(data, len(data)))

    await demo.load()
    await demo.load()

    assert await Registrant.count() == demo.REGISTRANTS + 1
    photos = await Registrant.select(Registrant.photo).where(
        Registrant.photo.is_not_null() & (Registrant.id != ours["id"])
    )
    keys = {row["photo"] for row in photos}
    assert len(keys) == demo.PHOTOS
    assert keys <= set(await storage.keys("registrants"))
    stored = await storage.load(next(iter(keys)))
    assert stored.content_type == "image/png"

    await demo.clear()

    assert await Registrant.select(Registrant.email, Registrant.photo) == [
        {"email": "ours@example.com", "photo": our_photo}
    ]
    assert set(await storage.keys("registrants")) == before | {our_photo}
    await storage.aclose()
