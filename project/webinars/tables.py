from piccolo.columns import Date, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class Registrant(Table):
    id: Serial
    name = Varchar(length=200)
    email = Varchar(length=254, unique=True)
    company = Varchar(length=200, default="")
    webinar_date = Date(index=True)
    notes = Text(default="")
    # A storage key (see bandstand/storage), never a path or a name the browser sent.
    photo = Varchar(length=100, null=True, default=None)
    # The job making a new upload into the photo, while it runs, or that refused it.
    photo_job = Varchar(length=36, null=True, default=None)
    registered_at = Timestamptz(index=True)


TABLES = [Registrant]
