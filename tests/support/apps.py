"""Apps with other settings than the suite's, and clients for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
import httpx
import msgspec
from litestar import Litestar

from project.app import create_app
from project.settings import get_settings


async def build_app(**changes: Any) -> Litestar:
    """The app with some settings changed. Building it reads templates and resolves folders:
    file I/O, kept off the event loop."""
    settings = msgspec.structs.replace(get_settings(), **changes)
    return await anyio.to_thread.run_sync(create_app, settings)


@asynccontextmanager
async def client_for(
    app: Litestar, base_url: str = "http://localhost"
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=cast(Any, app))
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client
