from collections.abc import AsyncIterator

import pytest

from project.database.postgres import PoolerSafePostgresEngine


@pytest.fixture
async def engine(idle_engine: PoolerSafePostgresEngine) -> AsyncIterator[PoolerSafePostgresEngine]:
    """The module's `idle_engine` (made outside the event loop) with its pool started."""
    await idle_engine.start_connection_pool()
    yield idle_engine
    await idle_engine.close_connection_pool()
