"""`create_app(features, settings)` serves the database its settings name: an app made with
another DATABASE_URL than piccolo_conf.py's moves every table to that database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import msgspec
import pytest
from piccolo.apps.user.tables import BaseUser
from piccolo.conf.apps import Finder
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.table import Table
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.users import User, create_user
from bandstand.app import create_app
from bandstand.database.engine import bind_tables, engine_for
from bandstand.settings import Settings, get_settings
from bandstand.testing.accounts import PASSWORD, log_in
from bandstand.testing.apps import client_for
from bandstand.testing.database import run_piccolo


def run_engine() -> Engine:  # type: ignore[type-arg]
    """The run's engine, piccolo_conf.py's."""
    engine = engine_finder()
    assert engine is not None
    return engine


@pytest.fixture
def other_database(fresh_database_url: str) -> Iterator[Settings]:
    """Settings naming a second, migrated database; every table back on the run's afterwards."""
    migrated = run_piccolo("migrations", "forwards", "all", database_url=fresh_database_url)
    assert migrated.returncode == 0, migrated.stderr
    settings = msgspec.structs.replace(get_settings(), database_url=fresh_database_url)
    yield settings
    tables: set[type[Table]] = {*Finder().get_table_classes(), User, SessionsBase}
    bind_tables(run_engine(), tables)


async def test_an_app_on_another_database_reads_and_writes_there(
    other_database: Settings, clean_tables: None
) -> None:
    app = await anyio.to_thread.run_sync(lambda: create_app((), other_database))
    engine = engine_for(other_database)
    assert engine is not engine_finder()
    assert BaseUser._meta.db is engine
    await create_user("elsewhere", "elsewhere@example.com", PASSWORD)
    async with client_for(app) as client:
        response = await log_in(client, "elsewhere")
        assert response.status_code == 303
        assert (await client.get("/readyz")).json() == {"status": "ready"}
    # The run's own database never saw that user.
    BaseUser._meta.db = run_engine()
    assert not await BaseUser.exists().where(BaseUser.username == "elsewhere")


def test_settings_for_the_same_database_share_one_engine(tmp_path: Path) -> None:
    settings = get_settings()
    assert engine_for(settings) is engine_for(settings) is engine_finder()
    # Another project folder, the same database (the suite's URL names it absolutely).
    elsewhere = msgspec.structs.replace(settings, project_root=str(tmp_path))
    assert engine_for(elsewhere) is engine_finder()


def test_a_relative_sqlite_file_is_the_project_folders(tmp_path: Path) -> None:
    one, other = (
        msgspec.structs.replace(
            get_settings(), project_root=str(tmp_path / name), database_url="sqlite:///db.sqlite3"
        )
        for name in ("one", "other")
    )
    assert engine_for(one) is not engine_for(other)
