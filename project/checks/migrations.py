"""Migrations that exist in the code but have not been run on the database.

Read with Piccolo's own migration machinery (the apps in piccolo_conf, their migration
folders, the `migration` table), without creating that table as `piccolo migrations check`
does: a check changes nothing.
"""

from __future__ import annotations

import anyio
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration

from project.checks.findings import Finding
from project.database.errors import describe_connection_error

TIMEOUT = 15.0

ALL_RUN = "migrations.I001"
PENDING = "migrations.W001"
PENDING_DEPLOY = "migrations.E001"
UNREADABLE = "migrations.E002"
IDS = (ALL_RUN, PENDING, PENDING_DEPLOY, UNREADABLE)

FORWARDS = "piccolo migrations forwards all"


def migration_ids() -> dict[str, list[str]]:
    """Each app's migration ids, from its migrations folder (imports the modules: a thread)."""
    manager = BaseMigrationManager()
    return {
        config.app_name: manager.get_migration_ids(
            manager.get_migration_modules(config.resolved_migrations_folder_path)
        )
        for config in manager.get_app_configs()
    }


async def pending_migrations() -> dict[str, list[str]]:
    """Each app's migrations not recorded as run (apps with none pending are left out)."""
    known = await anyio.to_thread.run_sync(migration_ids)
    ran: set[tuple[str, str]] = set()
    if await Migration.table_exists():
        rows = await Migration.select(Migration.app_name, Migration.name)
        ran = {(row["app_name"], row["name"]) for row in rows}
    pending = {
        app: [name for name in names if (app, name) not in ran] for app, names in known.items()
    }
    return {app: names for app, names in pending.items() if names}


async def check_migrations(*, deploy: bool, seconds: float = TIMEOUT) -> list[Finding]:
    try:
        with anyio.fail_after(seconds):
            pending = await pending_migrations()
    except Exception as error:  # noqa: BLE001 - whatever stops it is the finding
        return [
            Finding(
                UNREADABLE,
                f"cannot read which migrations have run: {describe_connection_error(error)}",
                f"check that the `migration` table is Piccolo's (`{FORWARDS}` creates it) and "
                "that the database user may read it",
            )
        ]
    if not pending:
        return [Finding(ALL_RUN, "every migration has been run")]
    count = sum(len(names) for names in pending.values())
    per_app = ", ".join(f"{app}: {len(names)}" for app, names in pending.items())
    noun = "migration has" if count == 1 else "migrations have"
    if deploy:
        return [
            Finding(
                PENDING_DEPLOY,
                f"{count} {noun} not been run ({per_app}): the app's queries expect tables "
                "and columns the database does not have yet",
                f"run `{FORWARDS}` in the release step, before the new code starts",
            )
        ]
    return [Finding(PENDING, f"{count} {noun} not been run ({per_app})", f"run `{FORWARDS}`")]
