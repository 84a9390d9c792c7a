import asyncio
import gc
from collections.abc import AsyncIterator

import httpx
import pytest
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

from project.database.sqlite import TunedSQLiteEngine


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.fixture
async def unreachable_database(client: httpx.AsyncClient) -> AsyncIterator[None]:
    """Point the live engine somewhere it cannot reach, as an outage would."""
    engine = engine_finder()
    if isinstance(engine, TunedSQLiteEngine):
        # A path under a regular file: SQLite can neither open nor create it.
        saved = engine.connection_kwargs["database"]
        engine.connection_kwargs["database"] = "/dev/null/bandstand.sqlite3"
        # Kept connections would still answer: new query threads open new ones.
        engine.close_query_threads()
        yield
        engine.connection_kwargs["database"] = saved
        engine.close_query_threads()
        # aiosqlite stops a connection that failed to open only when it is collected; collect
        # while this test's loop still runs, or its worker thread reports to a closed loop.
        gc.collect()
        await asyncio.sleep(0.05)
        return
    assert isinstance(engine, PostgresEngine)
    saved_config = dict(engine.config)
    await engine.close_connection_pool()
    engine.config.update(host="127.0.0.1", port=1)  # refused at once
    await engine.start_connection_pool()
    yield
    await engine.close_connection_pool()
    engine.config.clear()
    engine.config.update(saved_config)
    await engine.start_connection_pool()


async def test_readyz_is_503_with_a_reason_when_the_database_is_unreachable(
    unreachable_database: None, client: httpx.AsyncClient
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("database unreachable (")
    # The process itself is still alive.
    assert (await client.get("/healthz")).status_code == 200


async def test_openapi_schema_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Bandstand"
    assert "/readyz" in schema["paths"]
