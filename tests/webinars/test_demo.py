"""The webinar demo: loaded once, with photos in the configured storage, and cleared with them."""

from bandstand.settings import get_settings
from bandstand.storage.backends import create_storage
from project.webinars import demo
from project.webinars.tables import Registrant


async def test_demo_loads_once_with_photos_and_clears_them(clean_tables: None) -> None:
    storage = create_storage(get_settings())
    before = set(await storage.keys("registrants"))

    await demo.load()
    await demo.load()

    assert await Registrant.count() == demo.REGISTRANTS
    photos = await Registrant.select(Registrant.photo).where(Registrant.photo.is_not_null())
    keys = {row["photo"] for row in photos}
    assert len(keys) == demo.PHOTOS
    assert keys <= set(await storage.keys("registrants"))
    stored = await storage.load(next(iter(keys)))
    assert stored.content_type == "image/png"

    await demo.clear()

    assert await Registrant.count() == 0
    assert set(await storage.keys("registrants")) == before
