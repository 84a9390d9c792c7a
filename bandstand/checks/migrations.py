"""Migrations that exist in the code but have not been run on the database.

A check changes nothing: `pending_migrations` reads Piccolo's `migration` table without
creating it, as `piccolo migrations check` would.
"""

from __future__ import annotations

import anyio
from piccolo.conf.apps import Finder

from bandstand.checks.findings import Finding
from bandstand.database.errors import describe_connection_error
from bandstand.database.migrations import pending_migrations

TIMEOUT = 15.0

ALL_RUN = "migrations.I001"
PENDING = "migrations.W001"
PENDING_DEPLOY = "migrations.E001"
UNREADABLE = "migrations.E002"
MISSING_APP = "migrations.E003"
IDS = (ALL_RUN, PENDING, PENDING_DEPLOY, UNREADABLE, MISSING_APP)

FORWARDS = "piccolo migrations forwards all"
# The Piccolo apps whose tables the framework uses: every site's APP_REGISTRY (piccolo_conf.py)
# lists them before its own.
FRAMEWORK_APPS = (
    "piccolo.apps.user.piccolo_app",
    "piccolo_api.session_auth.piccolo_app",
    "piccolo_api.mfa.authenticator.piccolo_app",
    "bandstand.piccolo_app",
)


def check_registry() -> list[Finding]:
    """The framework's Piccolo apps in APP_REGISTRY: without one, its tables are never made."""
    registered = set(Finder().get_app_registry().apps)
    missing = [app for app in FRAMEWORK_APPS if app not in registered]
    if not missing:
        return []
    return [
        Finding(
            MISSING_APP,
            f"APP_REGISTRY lacks the framework's Piccolo app(s) {', '.join(missing)}: their "
            "tables are never made, and the pages that use them fail",
            "add them to APP_REGISTRY in piccolo_conf.py, before the project's app "
            "(docs/releases.md says which version needs which), then run "
            f"`{FORWARDS}`",
        )
    ]


async def check_migrations(*, deploy: bool, seconds: float = TIMEOUT) -> list[Finding]:
    missing = check_registry()
    try:
        with anyio.fail_after(seconds):
            pending = await pending_migrations()
    except Exception as error:  # noqa: BLE001 - whatever stops it is the finding
        return [
            *missing,
            Finding(
                UNREADABLE,
                f"cannot read which migrations have run: {describe_connection_error(error)}",
                f"check that the `migration` table is Piccolo's (`{FORWARDS}` creates it) and "
                "that the database user may read it",
            ),
        ]
    if not pending:
        return [*missing, Finding(ALL_RUN, "every migration has been run")]
    count = sum(len(names) for names in pending.values())
    per_app = ", ".join(f"{app}: {len(names)}" for app, names in pending.items())
    noun = "migration has" if count == 1 else "migrations have"
    if deploy:
        return [
            *missing,
            Finding(
                PENDING_DEPLOY,
                f"{count} {noun} not been run ({per_app}): the app's queries expect tables "
                "and columns the database does not have yet",
                f"run `{FORWARDS}` in the release step, before the new code starts",
            ),
        ]
    return [
        *missing,
        Finding(PENDING, f"{count} {noun} not been run ({per_app})", f"run `{FORWARDS}`"),
    ]
