"""The app a test runs against: the project's (`client` fixture), or one built with other
settings, and clients for it."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
import httpx
import msgspec
from litestar import Litestar

from bandstand.app import create_app, site_of
from bandstand.features import Feature
from bandstand.settings import get_settings

# Where the project's app is, as for uvicorn (the `bandstand_app` ini option overrides it).
DEFAULT_APP = "main:app"
_app_path = DEFAULT_APP


def set_app_path(path: str) -> None:
    global _app_path
    _app_path = path


def project_app() -> Litestar:
    """The project's app, imported as `uvicorn` would import it."""
    module, _, name = _app_path.partition(":")
    app = getattr(importlib.import_module(module), name)
    assert isinstance(app, Litestar), f"{_app_path} is not a Litestar app"
    return app


async def build_app(**changes: Any) -> Litestar:
    """The project's app with some settings changed."""
    features, name = site_of(project_app())
    return await build_site(features, name, **changes)


async def build_site(features: Sequence[Feature], name: str, /, **changes: Any) -> Litestar:
    """A site of `features` with some settings changed. Building it reads templates and
    resolves folders: file I/O, kept off the event loop."""
    settings = msgspec.structs.replace(get_settings(), **changes)
    return await anyio.to_thread.run_sync(lambda: create_app(features, settings, name=name))


@asynccontextmanager
async def client_for(
    app: Litestar, base_url: str = "http://localhost"
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on `app`, inside its lifespan, on the test's own event loop."""
    transport = httpx.ASGITransport(app=cast(Any, app))
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client
