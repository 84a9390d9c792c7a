"""The installed features, like Django's INSTALLED_APPS.

Removing a demo is deleting its folders (`project/<name>/`, `templates/<name>/`,
`tests/<name>/`) and its line here, then `piccolo migrations new project --auto`.
"""

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from litestar.types import ControllerRouterHandler
from piccolo.table import Table

from project.accounts import demo as accounts_demo
from project.accounts import routes as accounts_routes
from project.accounts import tables as accounts_tables
from project.catalog import demo as catalog_demo
from project.catalog import routes as catalog_routes
from project.catalog import tables as catalog_tables
from project.chat import routes as chat_routes
from project.chat import tables as chat_tables
from project.dashboard import routes as dashboard_routes
from project.health import routes as health_routes
from project.pages import routes as pages_routes
from project.settings import Settings
from project.storage import routes as storage_routes
from project.storage import tables as storage_tables
from project.storage.base import Storage
from project.webinars import demo as webinars_demo
from project.webinars import routes as webinars_routes
from project.webinars import tables as webinars_tables

if TYPE_CHECKING:
    from piccolo_admin.endpoints import TableConfig


@dataclass(frozen=True)
class NavLink:
    """A feature's entry in the navigation bar and on the home page."""

    label: str
    path: str
    summary: str = ""
    staff_only: bool = False


@dataclass(frozen=True)
class Feature:
    name: str
    nav: NavLink | None = None
    routes: Sequence[ControllerRouterHandler] = ()
    tables: Sequence[type[Table]] = ()
    # The module with Piccolo Admin's view of the feature's tables: `ADMIN`, or, when it needs
    # the app's storage (media columns), `admin_tables(storage, settings)`. A dotted path, imported
    # when the admin is first used: Piccolo Admin and FastAPI were a third of the start-up time.
    admin: str | None = None
    # Loads the feature's demo data; must be idempotent.
    load_demo: Callable[[], Awaitable[None]] | None = None
    clear_demo: Callable[[], Awaitable[None]] | None = None

    def admin_tables(self, storage: Storage, settings: Settings) -> Sequence["TableConfig"]:
        if self.admin is None:
            return ()
        module = importlib.import_module(self.admin)
        if hasattr(module, "admin_tables"):
            return module.admin_tables(storage, settings)  # type: ignore[no-any-return]
        return module.ADMIN  # type: ignore[no-any-return]


FEATURES: tuple[Feature, ...] = (
    Feature("health", routes=health_routes.ROUTES),
    Feature("storage", routes=storage_routes.ROUTES, tables=storage_tables.TABLES),
    Feature(
        "accounts",
        routes=accounts_routes.ROUTES,
        tables=accounts_tables.TABLES,
        admin="project.accounts.admin",
        load_demo=accounts_demo.load,
        clear_demo=accounts_demo.clear,
    ),
    Feature("pages", routes=pages_routes.ROUTES),
    Feature(
        "catalog",
        nav=NavLink(
            "Products",
            "/products",
            "A catalog with live search, filters and pages (htmx), and a JSON API.",
        ),
        routes=catalog_routes.ROUTES,
        tables=catalog_tables.TABLES,
        admin="project.catalog.admin",
        load_demo=catalog_demo.load,
        clear_demo=catalog_demo.clear,
    ),
    Feature(
        "webinars",
        nav=NavLink(
            "Webinars",
            "/webinars",
            "Registration with validation; staff manage registrants and their photos.",
        ),
        routes=webinars_routes.ROUTES,
        tables=webinars_tables.TABLES,
        admin="project.webinars.admin",
        load_demo=webinars_demo.load,
        clear_demo=webinars_demo.clear,
    ),
    Feature(
        "chat",
        nav=NavLink(
            "Chat",
            "/chat",
            "Streaming answers from any OpenAI-compatible model, or an offline one.",
        ),
        routes=chat_routes.ROUTES,
        tables=chat_tables.TABLES,
        admin="project.chat.admin",
    ),
    Feature(
        "dashboard",
        nav=NavLink(
            "Dashboard",
            "/dashboard",
            "Charts of the catalog and of registrations over time.",
            staff_only=True,
        ),
        routes=dashboard_routes.ROUTES,
    ),
)
