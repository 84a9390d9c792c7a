from piccolo.columns import JSON, Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table):
    """One thing done. Append-only: the database refuses to change an entry (a trigger, made
    by the migration), the admin shows entries read-only, and only the retention job deletes
    them."""

    id: Serial
    at = Timestamptz(index=True)
    # What was done: `login`, `login.failed`, `two_factor.enable`, `create`, `update`, …
    action = Varchar(length=50, index=True)
    # Who: not a foreign key, so that an entry outlives the account; the name is kept as it was.
    actor_id = Integer(null=True, default=None, index=True)
    actor = Varchar(length=255)
    # Which row, by table and primary key ("" when the action has no row).
    target_table = Varchar(length=100, index=True)
    target_id = Varchar(length=100)
    # {"field": [before, after]}, secrets masked.
    changes = JSON(default="{}")
    client = Varchar(length=100)
    user_agent = Varchar(length=500)
    request_id = Varchar(length=128)
    # Where: `site`, `admin` (Piccolo Admin) or `cli`.
    source = Varchar(length=20)


TABLES = [AuditEntry]
