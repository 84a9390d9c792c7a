from piccolo.columns import Bytea, Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table


class MediaFile(Table):
    """A stored file, for `STORAGE_BACKEND=database`."""

    id: Serial
    key = Varchar(length=100, unique=True)
    content_type = Varchar(length=100)
    size = Integer()
    data = Bytea()
    created_at = Timestamptz()


TABLES = [MediaFile]
