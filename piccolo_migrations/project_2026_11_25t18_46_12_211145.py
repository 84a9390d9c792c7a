from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T18:46:12:211145"
VERSION = "1.38.0"
DESCRIPTION = "accounts: groups, memberships, login throttle (now the bandstand app's)"


async def forwards() -> MigrationManager:
    # The accounts' tables are the framework's (bandstand/piccolo_migrations/), made there. The
    # migration stays, empty, so that databases which ran it keep the same history.
    return MigrationManager(migration_id=ID, app_name="project", description=DESCRIPTION)
