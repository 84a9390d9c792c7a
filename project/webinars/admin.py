from collections.abc import Sequence

from piccolo_admin.endpoints import TableConfig

from bandstand.settings import Settings
from bandstand.storage.admin import AdminImageStorage
from bandstand.storage.base import Storage
from project.webinars.queries import PHOTO_FOLDER
from project.webinars.tables import Registrant


def admin_tables(storage: Storage, settings: Settings) -> Sequence[TableConfig]:
    photos = AdminImageStorage(Registrant.photo, storage, PHOTO_FOLDER, settings.upload_max_bytes)
    return [
        TableConfig(
            Registrant,
            visible_columns=[
                Registrant.id,
                Registrant.name,
                Registrant.email,
                Registrant.company,
                Registrant.webinar_date,
                Registrant.registered_at,
            ],
            visible_filters=[Registrant.name, Registrant.email, Registrant.webinar_date],
            media_storage=[photos],
            menu_group="Webinars",
        )
    ]
