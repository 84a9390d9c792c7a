"""The trigger that refuses to change an audit entry: the log is append-only in the database
itself, whatever the code does (deleting old entries stays possible, for AUDIT_RETENTION_DAYS).

A migration of its own: Piccolo runs a migration's raw steps before its new tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T20:14:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit: entries cannot be changed"

REFUSAL = "audit entries cannot be changed"
POSTGRES_TRIGGER = (
    f"""
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}';
END
$$
""",
    """
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()
""",
)
SQLITE_TRIGGER = (
    f"""
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_entry
BEGIN
    SELECT RAISE(ABORT, '{REFUSAL}');
END
""",
)


class AuditEntry(Table):  # this migration's own: the code's table may change later
    pass


def _postgres() -> bool:
    return AuditEntry._meta.db.engine_type == "postgres"


async def _append_only() -> None:
    for statement in POSTGRES_TRIGGER if _postgres() else SQLITE_TRIGGER:
        await AuditEntry.raw(statement)


async def _changeable() -> None:
    if _postgres():  # the function, and with it the trigger
        await AuditEntry.raw("DROP FUNCTION IF EXISTS audit_entry_append_only() CASCADE")
    else:
        await AuditEntry.raw("DROP TRIGGER IF EXISTS audit_entry_append_only")


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="bandstand", description=DESCRIPTION)
    manager.add_raw(_append_only)
    manager.add_raw_backwards(_changeable)
    return manager
