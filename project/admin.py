"""Piccolo Admin, built once and mounted at /admin inside the Litestar app.

Piccolo Admin is a FastAPI app with its own login (the site's session cookie works there too),
its own CSRF protection and its own rate limit (in process memory; its login is also held to
the site's throttle, in the database); Litestar's CSRF check is turned off for the mount. Built
once per app, not per request: building it costs ~35 ms and restarts its login rate limiter.
"""

from __future__ import annotations

from datetime import timedelta

from litestar import asgi
from litestar.enums import ScopeType
from litestar.handlers import ASGIRouteHandler
from litestar.response.redirect import ASGIRedirectResponse
from litestar.types import Receive, Scope, Send
from piccolo_admin.endpoints import create_admin
from piccolo_api.session_auth.tables import SessionsBase

from project.accounts.admin_login import is_admin_login, throttled_login
from project.accounts.users import User
from project.features import FEATURES
from project.hosts import AllowedHostNames
from project.settings import Settings
from project.storage.base import Storage

MOUNT = "/admin"


def admin_mount(settings: Settings, storage: Storage) -> ASGIRouteHandler:
    admin = create_admin(
        tables=[
            config for feature in FEATURES for config in feature.admin_tables(storage, settings)
        ],
        auth_table=User,
        session_table=SessionsBase,
        session_expiry=timedelta(minutes=settings.session_idle_minutes),
        max_session_expiry=timedelta(hours=settings.session_max_age_hours),
        increase_expiry=timedelta(minutes=settings.session_idle_minutes / 2),
        production=settings.is_production,
        site_name="Bandstand admin",
        allowed_hosts=AllowedHostNames(settings.allowed_hosts),
        debug=settings.debug,
    )

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
        if is_admin_login(scope, root_path):
            await throttled_login(admin, settings, scope, receive, send)
            return
        await admin(scope, receive, send)

    return admin_app
