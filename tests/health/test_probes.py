from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.outage import outage


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
    async with outage():
        yield


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
