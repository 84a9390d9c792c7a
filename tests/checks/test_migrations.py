"""Migrations in the code that the database has not run, through Piccolo's own machinery."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from tests.checks.helpers import PRODUCTION, run_check
from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.engine_independent


async def test_pending_migrations_are_a_warning(tmp_path: Path) -> None:
    run = await run_check(DATABASE_URL=f"sqlite:///{tmp_path}/fresh.sqlite3")

    assert run.level("migrations.W001") == "warning"
    assert run.findings["migrations.W001"].hint == "run `piccolo migrations forwards all`"
    assert run.returncode == 0, run.explain()


async def test_pending_migrations_are_an_error_for_a_deploy(tmp_path: Path) -> None:
    run = await run_check(
        "--deploy=true", **PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path}/fresh.sqlite3"
    )

    assert run.level("migrations.E001") == "error"
    assert run.ids("error") == {"migrations.E001"}
    assert run.returncode == 1


def make_foreign_migration_table(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE migration (id INTEGER PRIMARY KEY, label TEXT)")
    connection.close()


async def test_an_unreadable_migration_table_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "foreign.sqlite3"
    await anyio.to_thread.run_sync(make_foreign_migration_table, path)

    run = await run_check(DATABASE_URL=f"sqlite:///{path}")

    assert run.level("migrations.E002") == "error"
    assert "app_name" in run.findings["migrations.E002"].message  # the column it lacks
    assert run.returncode == 1


OLD_CONF = """
from piccolo.conf.apps import AppRegistry
from piccolo_conf import DB

# A project from before two-factor sign-in: its registry has no mfa_authenticator app.
APP_REGISTRY = AppRegistry(
    apps=[
        "piccolo.apps.user.piccolo_app",
        "piccolo_api.session_auth.piccolo_app",
        "bandstand.piccolo_app",
        "project.piccolo_app",
    ]
)
"""


async def test_a_registry_without_a_framework_app_is_an_error(tmp_path: Path) -> None:
    await anyio.Path(tmp_path / "old_conf.py").write_text(OLD_CONF)

    run = await run_check(
        DATABASE_URL=f"sqlite:///{tmp_path}/fresh.sqlite3",
        PICCOLO_CONF="old_conf",
        PYTHONPATH=f"{tmp_path}:{PROJECT_ROOT}",
    )

    assert run.level("migrations.E003") == "error"
    assert "piccolo_api.mfa.authenticator.piccolo_app" in run.findings["migrations.E003"].message
    assert run.returncode == 1
    # The project's own registry has every one.
    assert (
        "migrations.E003"
        not in (await run_check(DATABASE_URL=f"sqlite:///{tmp_path}/x.db")).findings
    )
