"""`piccolo migrations forwards all` on an empty database, then `check` shows nothing pending."""

import asyncio

from piccolo.conf.apps import Finder

from bandstand.database.engine import create_engine
from bandstand.settings import load_settings
from bandstand.testing.database import run_piccolo
from tests.database.conftest import migrations_ran


def _select_declared_columns(database_url: str) -> None:
    """Fails if any table or column the code declares is missing from the database."""
    engine = create_engine(load_settings({"DATABASE_URL": database_url}, env_file=None))

    async def select_all() -> None:
        for table in Finder().get_table_classes():
            names = ", ".join(f'"{c._meta.db_column_name}"' for c in table._meta.columns)
            await engine.run_ddl(f'SELECT {names} FROM "{table._meta.tablename}" LIMIT 0')

    asyncio.run(select_all())


def test_forwards_brings_an_empty_database_to_the_current_schema(fresh_database_url: str) -> None:
    forwards = run_piccolo("migrations", "forwards", "all", database_url=fresh_database_url)
    assert forwards.returncode == 0, forwards.stdout + forwards.stderr

    check = run_piccolo("migrations", "check", database_url=fresh_database_url)
    assert check.returncode == 0, check.stderr
    ran = migrations_ran(check.stdout)
    assert ran.get("bandstand"), check.stdout  # the framework's own, at least
    assert all(all(app) for app in ran.values()), check.stdout

    _select_declared_columns(fresh_database_url)


def test_forwards_twice_is_a_no_op(fresh_database_url: str) -> None:
    for _ in range(2):
        result = run_piccolo("migrations", "forwards", "all", database_url=fresh_database_url)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "No migrations need to be run" in result.stdout
