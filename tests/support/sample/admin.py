"""Piccolo Admin's view of the sample site's tables, fans' photos on the site's storage."""

from __future__ import annotations

from collections.abc import Sequence

from piccolo_admin.endpoints import TableConfig

from bandstand.settings import Settings
from bandstand.storage.admin import AdminImageStorage
from bandstand.storage.base import Storage
from tests.support.sample.queries import PHOTO_FOLDER
from tests.support.tables import Album, Band, Fan, Manager, Venue


def admin_tables(storage: Storage, settings: Settings) -> Sequence[TableConfig]:
    photos = AdminImageStorage(Fan.photo, storage, PHOTO_FOLDER, settings.upload_max_bytes)
    return [
        TableConfig(Manager, menu_group="Sample"),
        TableConfig(Band, visible_filters=[Band.name], menu_group="Sample"),
        TableConfig(
            Album,
            visible_columns=[Album.id, Album.title, Album.band, Album.price, Album.created_at],
            visible_filters=[Album.title, Album.band],
            menu_group="Sample",
        ),
        TableConfig(
            Fan,
            visible_columns=[Fan.id, Fan.name, Fan.email, Fan.band, Fan.joined_at],
            visible_filters=[Fan.name, Fan.email],
            media_storage=[photos],
            menu_group="Sample",
        ),
        # A table only the admin edits.
        TableConfig(Venue, menu_group="Sample"),
    ]
