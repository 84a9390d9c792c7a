"""App assembly: `create_app(features)` puts the framework's features and the site's together
into one Litestar app."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from piccolo.conf.apps import Finder
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.table import Table
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts import api_tokens
from bandstand.accounts.errors import EXCEPTION_HANDLERS
from bandstand.accounts.guards import verified_email_paths
from bandstand.accounts.oidc import providers
from bandstand.accounts.sessions import session_middleware
from bandstand.accounts.users import User
from bandstand.admin import admin_mount
from bandstand.ai.tools import tools_by_name
from bandstand.csrf import csrf_middleware
from bandstand.database.engine import bind_tables, connected, engine_for
from bandstand.edge import EdgeMiddleware
from bandstand.errors import exception_handlers
from bandstand.features import Feature, with_framework
from bandstand.jobs.queue import JobQueue, use_queue
from bandstand.jobs.worker import Site, Worker
from bandstand.logs import litestar_logging_config, redact_api_tokens
from bandstand.ops.routes import ops_router
from bandstand.requests import SiteRequest
from bandstand.settings import Settings, get_settings
from bandstand.static_files import StaticFileSystem
from bandstand.storage.backends import create_storage, require_writable_storage
from bandstand.storage.base import Storage
from bandstand.templating import create_template_config

# Python reads the system's MIME tables lazily, from disk, on the first guess: do it at import,
# not inside the first request that serves a file.
mimetypes.init()

FRAMEWORK_STATIC = Path(__file__).resolve().parent / "static"
SITE = "bandstand.site"  # the app state's key for what the site handed `create_app`


def site_of(app: Litestar) -> tuple[tuple[Feature, ...], str]:
    """The site's own features and name, as given to `create_app` (to build it again)."""
    site: tuple[tuple[Feature, ...], str] = app.state[SITE]
    return site


def database_pool(engine: Engine) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:  # type: ignore[type-arg]
    return lambda app: connected(engine)


def use_database(settings: Settings, features: Sequence[Feature]) -> Engine:  # type: ignore[type-arg]
    """The engine for `settings.database_url`, with every table on it: piccolo_conf.py's engine
    when it was made from the same settings, else a new one the tables are moved to."""
    engine = engine_for(settings)
    if engine is not engine_finder():
        tables: set[type[Table]] = {*Finder().get_table_classes(), User, SessionsBase}
        bind_tables(engine, tables | {table for feature in features for table in feature.tables})
    return engine


def closing_storage(storage: Storage) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await storage.aclose()

    return lifespan


def running_jobs(
    queue: JobQueue, site: Site, *, in_process: bool
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """The queue's connection, closed at shutdown; with `JOBS_IN_PROCESS`, a worker too, on the
    app's own event loop."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        worker = Worker(queue, site) if in_process else None
        try:
            if worker is not None:
                await worker.start()
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await queue.aclose()

    return lifespan


def flash_sessions(settings: Settings) -> CookieBackendConfig:
    """A small encrypted cookie that carries flash messages across a redirect. Logins live in
    the database (bandstand/accounts/sessions.py); this holds nothing else."""
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


def site_csrf(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
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
    )


def feature_router(feature: Feature) -> Router:
    """The feature's routes, each knowing its feature (the `feature` opt), which is what an API
    token's scopes name."""
    return Router(
        path="/",
        route_handlers=list(feature.route_handlers()),
        opt={api_tokens.FEATURE_OPT: feature.name},
    )


def create_app(
    features: Sequence[Feature], settings: Settings | None = None, *, name: str = "Bandstand"
) -> Litestar:
    """The site: the framework's features and `features`, on `settings` (by default read from
    the environment and `.env`), named `name` in its pages, its admin and its API schema."""
    settings = settings or get_settings()
    site = (tuple(features), name)
    features = with_framework(features)
    engine = use_database(settings, features)
    require_writable_storage(settings)
    storage = create_storage(settings)
    jobs = JobQueue(settings)
    use_queue(jobs)
    template_config = create_template_config(settings, features, name)
    security = api_tokens.openapi_security()
    redact_api_tokens()
    routed = [feature for feature in features if feature.route_handlers()]
    scopes = api_tokens.scopes_of([feature.name for feature in routed])
    tools = tools_by_name(tool for feature in features for tool in feature.ai_tools())
    app = Litestar(
        route_handlers=[
            *(feature_router(feature) for feature in routed),
            # The site's files first: a site overrides a framework file by giving its path.
            create_static_files_router(
                path="/static",
                directories=[settings.path("static"), FRAMEWORK_STATIC],
                file_system=StaticFileSystem(),
            ),
            admin_mount(settings, storage, features, name),
            # Off: nothing of it is routed.
            *([ops_router(settings)] if settings.ops_page_enabled else []),
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "storage": Provide(lambda: storage, sync_to_thread=False),
            "database": Provide(lambda: engine, sync_to_thread=False),
            "jobs": Provide(lambda: jobs, sync_to_thread=False),
            "site_name": Provide(lambda: name, sync_to_thread=False),
            "token_scopes": Provide(lambda: scopes, sync_to_thread=False),
            "ai_tools": Provide(lambda: tools, sync_to_thread=False),
        },
        exception_handlers={**exception_handlers(debug=settings.debug), **EXCEPTION_HANDLERS},
        # Only when some paths are listed: no other site pays for the check.
        guards=([verified_email_paths(settings)] if settings.require_verified_email_for else []),
        # In order: the worker's jobs use the pool and the storage, so it stops before them.
        lifespan=[
            database_pool(engine),
            closing_storage(storage),
            running_jobs(
                jobs, Site(features, engine, storage, name), in_process=settings.jobs_in_process
            ),
        ],
        template_config=template_config,
        request_class=SiteRequest,
        plugins=[HTMXPlugin(), FlashPlugin(FlashConfig(template_config=template_config))],
        # One renderer, Swagger UI, under the CSP made for it (bandstand/headers.py).
        openapi_config=OpenAPIConfig(
            title=name,
            version="0.1.0",
            render_plugins=[SwaggerRenderPlugin()],
            components=security[0],
            security=security[1],
        ),
        middleware=[
            flash_sessions(settings).middleware,
            api_tokens.rate_limit(settings),
            session_middleware(settings),
            # Innermost, where Litestar puts its own: a refusal still passes the layers above.
            csrf_middleware(site_csrf(settings)),
        ],
        logging_config=litestar_logging_config(settings),
        request_max_body_size=settings.max_request_bytes,
        debug=settings.debug,
        state=State({SITE: site}),
    )
    # Around the whole app, not in `middleware`: a path no route matches is answered (404)
    # before Litestar's middleware runs, and that answer needs the checks and headers too.
    app.asgi_handler = EdgeMiddleware(
        app.asgi_handler,
        hosts=settings.allowed_hosts,
        hsts=settings.is_production,
        access_log=settings.log_format == "json",
        form_targets=list(dict.fromkeys(p.origin for p in providers(settings).values())),
    )
    return app
