"""A feature that exists only for the framework's tests, built the way a site builds one: a JSON
API on the test tables (tests/support/tables.py), Piccolo Admin's view of them with an image
column, and demo data. The framework's tests that need a site's feature use this one, so that
removing every demo from the site removes none of them.

An app with it: `create_app([BANDS], settings)`; served: `tests.support.bands_site:app`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.status_codes import HTTP_201_CREATED
from piccolo.columns import ForeignKey, Serial, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from bandstand.accounts.guards import requires_login
from bandstand.features import Feature
from bandstand.settings import Settings
from bandstand.storage.base import Storage
from tests.support.tables import Band

if TYPE_CHECKING:
    from piccolo_admin.endpoints import TableConfig

POSTER_FOLDER = "posters"
DEMO_BANDS = ("The Demo Tapes", "Sample Rate")


class Poster(Table):
    """A band's poster: an image column (a storage key) that Piccolo Admin uploads to. Only the
    admin's media endpoints use it, and they never touch the table: no test makes it."""

    id: Serial
    band = ForeignKey(Band, null=True, on_delete=OnDelete.cascade)
    image = Varchar(length=100, null=True, default=None)


class NewBand(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class BandOut(msgspec.Struct):
    id: int
    name: str
    popularity: int


StrictJSON = Body(media_type=RequestEncodingType.JSON)


@get("/api/bands", guards=[requires_login])
async def list_bands() -> list[BandOut]:
    """Every band, oldest first (logged-in users)."""
    rows = await Band.select(Band.id, Band.name, Band.popularity).order_by(Band.id)
    return [BandOut(**row) for row in rows]


@post("/api/bands", guards=[requires_login], status_code=HTTP_201_CREATED)
async def create_band(data: Annotated[NewBand, StrictJSON]) -> BandOut:
    """Add a band (logged-in users, with the CSRF token in the header)."""
    inserted = await Band.insert(Band(name=data.name))
    return BandOut(id=inserted[0]["id"], name=data.name, popularity=0)


def admin_tables(storage: Storage, settings: Settings) -> Sequence[TableConfig]:
    # Imported here, as the admin is built on its first request (bandstand/admin.py).
    from piccolo_admin.endpoints import TableConfig

    from bandstand.storage.admin import AdminImageStorage

    posters = AdminImageStorage(Poster.image, storage, POSTER_FOLDER, settings.upload_max_bytes)
    return [
        TableConfig(Band, visible_filters=[Band.name], menu_group="Bands"),
        TableConfig(Poster, media_storage=[posters], menu_group="Bands"),
    ]


async def load_demo() -> None:
    for name in DEMO_BANDS:
        if not await Band.exists().where(Band.name == name):
            await Band.insert(Band(name=name))


async def clear_demo() -> None:
    await Band.delete().where(Band.name.is_in(list(DEMO_BANDS)))


BANDS = Feature(
    "bands",
    routes=[list_bands, create_band],
    tables=[Band, Poster],
    admin=__name__,
    load_demo=load_demo,
    clear_demo=clear_demo,
)
