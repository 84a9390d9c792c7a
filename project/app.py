"""App assembly: `create_app()` puts the installed features together into one Litestar app."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

from project.accounts.errors import EXCEPTION_HANDLERS
from project.accounts.sessions import session_middleware
from project.admin import admin_mount
from project.database.sqlite import TunedSQLiteEngine
from project.edge import EdgeMiddleware
from project.errors import exception_handlers
from project.features import FEATURES
from project.logs import litestar_logging_config
from project.requests import SiteRequest
from project.settings import BASE_DIR, Settings, get_settings
from project.storage.backends import create_storage, require_writable_storage
from project.storage.base import Storage
from project.templating import create_template_config

# Python reads the system's MIME tables lazily, from disk, on the first guess: do it at import,
# not inside the first request that serves a file.
mimetypes.init()


@asynccontextmanager
async def database_pool(app: Litestar) -> AsyncIterator[None]:
    engine = engine_finder()
    if isinstance(engine, TunedSQLiteEngine):
        # Query threads keep their own connections; each transaction opens one.
        try:
            yield
        finally:
            engine.close_query_threads()
        return
    if not isinstance(engine, PostgresEngine):
        yield
        return
    await engine.start_connection_pool()
    try:
        yield
    finally:
        await engine.close_connection_pool()


def closing_storage(storage: Storage) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await storage.aclose()

    return lifespan


def flash_sessions(settings: Settings) -> CookieBackendConfig:
    """A small encrypted cookie that carries flash messages across a redirect. Logins live in
    the database (project/accounts/sessions.py); this holds nothing else."""
    return CookieBackendConfig(
        secret=hashlib.sha256(b"flash:" + settings.secret_key.encode()).digest(),
        key="site_flash",
        httponly=True,
        secure=settings.is_production,
        samesite="lax",
        # Not /media/: its refusal page, like every page, shows the flash messages. The JSON API
        # and its schema show none.
        exclude=["^/admin", "^/static/", "^/healthz$", "^/readyz$", "^/api/", "^/schema"],
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    require_writable_storage(settings)
    storage = create_storage(settings)
    template_config = create_template_config(settings)
    app = Litestar(
        route_handlers=[
            *(route for feature in FEATURES for route in feature.routes),
            create_static_files_router(path="/static", directories=[BASE_DIR / "static"]),
            admin_mount(settings, storage),
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "storage": Provide(lambda: storage, sync_to_thread=False),
        },
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            # Piccolo Admin owns the names "csrftoken" and "X-CSRFToken" (hard-coded in its
            # JavaScript); sharing them makes whichever page was visited first break the other.
            cookie_name="site_csrf",
            header_name="x-site-csrf",
            cookie_secure=settings.is_production,
            cookie_samesite="lax",
            # The pages carry the token (a form field, a meta tag for htmx): no script reads it.
            cookie_httponly=True,
            # JSON, probe and file GETs opt out with `exclude_from_csrf=True`: they render no
            # form, so they hand out no token cookie. Their writes are still checked.
        ),
        exception_handlers={**exception_handlers(debug=settings.debug), **EXCEPTION_HANDLERS},
        lifespan=[database_pool, closing_storage(storage)],
        template_config=template_config,
        request_class=SiteRequest,
        plugins=[HTMXPlugin(), FlashPlugin(FlashConfig(template_config=template_config))],
        # One renderer, Swagger UI, under the CSP made for it (project/headers.py).
        openapi_config=OpenAPIConfig(
            title="Bandstand", version="0.1.0", render_plugins=[SwaggerRenderPlugin()]
        ),
        middleware=[
            flash_sessions(settings).middleware,
            session_middleware(settings),
        ],
        logging_config=litestar_logging_config(settings),
        request_max_body_size=settings.max_request_bytes,
        debug=settings.debug,
    )
    # Around the whole app, not in `middleware`: a path no route matches is answered (404)
    # before Litestar's middleware runs, and that answer needs the checks and headers too.
    app.asgi_handler = EdgeMiddleware(
        app.asgi_handler,
        hosts=settings.allowed_hosts,
        hsts=settings.is_production,
        access_log=settings.log_format == "json",
    )
    return app
