"""Piccolo Admin, built once and mounted at /admin inside the Litestar app.

Piccolo Admin is a FastAPI app with its own login (the site's session cookie works there too),
its own CSRF protection and its own rate limit (in process memory; its login is also held to
the site's throttle, in the database); Litestar's CSRF check is turned off for the mount. Built
once per app, not per request: building it takes many times a request's work, and restarts its
login rate limiter. Built on its first request, not at start-up: importing Piccolo Admin and
FastAPI and building the admin was much of the time a new instance took to answer
(docs/performance.md).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import cast

import anyio.to_thread
import jinja2
from litestar import asgi
from litestar.enums import ScopeType
from litestar.handlers import ASGIRouteHandler
from litestar.response.redirect import ASGIRedirectResponse
from litestar.types import ASGIApp, Receive, Scope, Send
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.admin_gate import held_out, send_to_setup
from bandstand.accounts.admin_login import is_admin_login, throttled_login
from bandstand.accounts.two_factor import SiteAuthenticator
from bandstand.accounts.users import User
from bandstand.admin_requests import csrf_passes, csrf_refused, drop_malformed_session
from bandstand.asgi import call_capped, declared_size, secure_cookies, too_large
from bandstand.features import Feature
from bandstand.hosts import AllowedHostNames
from bandstand.settings import Settings
from bandstand.storage.base import Storage

MOUNT = "/admin"


def build_admin(
    settings: Settings, storage: Storage, features: Sequence[Feature], site_name: str
) -> ASGIApp:
    from piccolo_admin.endpoints import create_admin

    from bandstand.admin_crud import use_admin_crud

    use_admin_crud()
    admin = create_admin(
        tables=[
            config for feature in features for config in feature.admin_tables(storage, settings)
        ],
        auth_table=User,
        session_table=SessionsBase,
        session_expiry=timedelta(minutes=settings.session_idle_minutes),
        max_session_expiry=timedelta(hours=settings.session_max_age_hours),
        increase_expiry=timedelta(minutes=settings.session_idle_minutes / 2),
        production=settings.is_production,
        site_name=f"{site_name} admin",
        sidebar_links={"Background jobs": "/jobs"},
        mfa_providers=[SiteAuthenticator(settings, site_name)],
        allowed_hosts=AllowedHostNames(settings.allowed_hosts),
        debug=settings.debug,
    )
    return cast(ASGIApp, admin)


def load_page_templates(admin: ASGIApp) -> None:
    """Load the templates of piccolo_api's HTML pages (login, logout, two-factor set-up) now,
    on the build's thread, and never look at their files again. The pages render on the event
    loop, where Jinja would read a template's parent (`base.html`) at the first render and check
    every template file's time at each one after: blocking file I/O."""
    from piccolo_api.mfa import endpoints as mfa_endpoints

    for environment in {mfa_endpoints.environment, *_template_environments(admin)}:
        environment.auto_reload = False
        for name in environment.list_templates():
            environment.get_template(name)


def _template_environments(app: object) -> set[jinja2.Environment]:
    """The Jinja environments of the templates the admin's endpoints hold, found through its
    routes, mounts and middleware."""
    found: set[jinja2.Environment] = set()
    stack, seen = [app], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, type):  # an endpoint class, whose templates are class attributes
            found |= {
                value.environment
                for value in vars(node).values()
                if isinstance(value, jinja2.Template)
            }
            continue
        stack.extend(getattr(node, "routes", ()))
        stack.extend(inner for name in ("app", "endpoint") if (inner := getattr(node, name, None)))
    return found


class LazyAdmin:
    """The admin, built by the first request that needs it, on a worker thread so that the
    event loop keeps serving meanwhile; requests that arrive during the build wait for it."""

    def __init__(
        self, settings: Settings, storage: Storage, features: Sequence[Feature], site_name: str
    ) -> None:
        self.settings, self.storage = settings, storage
        self.features, self.site_name = features, site_name
        self.app: ASGIApp | None = None
        self._building = threading.Lock()

    def _build(self) -> ASGIApp:
        with self._building:
            if self.app is None:
                app = build_admin(self.settings, self.storage, self.features, self.site_name)
                load_page_templates(app)
                self.app = app
            return self.app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        if app is None:
            app = await anyio.to_thread.run_sync(self._build)
        await app(scope, receive, send)


def admin_mount(
    settings: Settings, storage: Storage, features: Sequence[Feature], site_name: str
) -> ASGIRouteHandler:
    admin = LazyAdmin(settings, storage, features, site_name)

    @asgi(MOUNT, is_mount=True, copy_scope=True, opt={"exclude_from_csrf": True})
    async def admin_app(scope: Scope, receive: Receive, send: Send) -> None:
        root_path = scope.get("root_path", "") + MOUNT
        at_mount_root = scope["path"] in ("", "/") and not scope["raw_path"].endswith(b"/")
        if scope["type"] == ScopeType.HTTP and at_mount_root:
            # At /admin (no slash) the SPA's relative asset URLs would point at the site root.
            await ASGIRedirectResponse(path=f"{root_path}/", status_code=307)(scope, receive, send)
            return
        # Starlette routes on path minus root_path; Litestar hands over the path below the
        # mount and keeps any proxy prefix in root_path, so both need the mount added.
        scope["root_path"] = root_path
        scope["path"] = root_path + scope["path"]
        if settings.is_production:
            send = secure_cookies(send)
        if scope["type"] == ScopeType.HTTP:
            if declared_size(scope) > settings.max_request_bytes:
                await too_large(scope, receive, send)
                return
            drop_malformed_session(scope)
            if not csrf_passes(scope):
                await csrf_refused(scope, receive, send)
                return
        if await held_out(scope, settings, root_path):
            await send_to_setup(scope, receive, send, root_path)
            return
        if is_admin_login(scope, root_path):
            await throttled_login(admin, settings, scope, receive, send)
            return
        await call_capped(admin, scope, receive, send, settings.max_request_bytes)

    return admin_app
