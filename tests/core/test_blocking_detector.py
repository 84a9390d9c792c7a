"""The blocking-call detector really is on around async tests, requests included."""

import time
from typing import Any, cast

import httpx
import pytest
from blockbuster import BlockingError
from litestar import Litestar, get

pytestmark = pytest.mark.engine_independent


async def test_a_blocking_sleep_in_an_async_test_fails_it() -> None:
    with pytest.raises(BlockingError):
        time.sleep(0.001)  # noqa: ASYNC251 - the point of the test


async def test_a_blocking_call_inside_a_request_fails_it() -> None:
    @get("/blocking")
    async def blocking() -> str:
        time.sleep(0.001)  # noqa: ASYNC251 - the point of the test
        return "unreachable"

    app = Litestar([blocking], debug=True)
    transport = httpx.ASGITransport(app=cast(Any, app))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/blocking")

    assert response.status_code == 500
    assert "BlockingError" in response.text
