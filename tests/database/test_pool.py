"""An exhausted PostgreSQL pool refuses after its acquire timeout instead of waiting forever,
and is whole again once the connection that held it comes back."""

from __future__ import annotations

import pytest

from project.database.postgres import PoolerSafePostgresEngine
from project.database.url import PostgresDatabase, parse_database_url
from tests.conftest import ADMIN_URL

pytestmark = pytest.mark.engine_independent


@pytest.fixture
def idle_engine() -> PoolerSafePostgresEngine:
    # Outside the event loop: parsing a URL without a password reads ~/.pgpass, and Piccolo's
    # engine runs its version check synchronously as it is made.
    database = parse_database_url(ADMIN_URL)
    assert isinstance(database, PostgresDatabase)
    return PoolerSafePostgresEngine(database, pool_min=0, pool_max=1, acquire_timeout=0.2)


@pytest.mark.timeout(30)
async def test_an_exhausted_pool_times_out_then_recovers(engine: PoolerSafePostgresEngine) -> None:
    held = await engine.acquire()
    with pytest.raises(TimeoutError):
        await engine.run_ddl("SELECT 1")
    await engine.release(held)
    assert [dict(row) for row in await engine.run_ddl("SELECT 1 AS one")] == [{"one": 1}]
