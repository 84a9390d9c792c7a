"""Migrations that exist in the code but have not been run on the database.

A check changes nothing: `pending_migrations` reads Piccolo's `migration` table without
creating it, as `piccolo migrations check` would.
"""

from __future__ import annotations

import anyio

from bandstand.checks.findings import Finding
from bandstand.database.errors import describe_connection_error
from bandstand.database.migrations import pending_migrations

TIMEOUT = 15.0

ALL_RUN = "migrations.I001"
PENDING = "migrations.W001"
PENDING_DEPLOY = "migrations.E001"
UNREADABLE = "migrations.E002"
IDS = (ALL_RUN, PENDING, PENDING_DEPLOY, UNREADABLE)

FORWARDS = "piccolo migrations forwards all"


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
