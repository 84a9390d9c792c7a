"""What a feature is (a Django-like app: routes, tables, an admin, demo data), and the
framework's own features, which every site has.

A site lists its features in `project/features.py` and hands them to `create_app` and to
`site_app_config` (its Piccolo app); the framework's come first, added here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piccolo.table import Table

from bandstand.accounts import tables as accounts_tables
from bandstand.accounts import tasks as accounts_tasks
from bandstand.ai import tables as ai_tables
from bandstand.audit import tables as audit_tables
from bandstand.audit import tasks as audit_tasks
from bandstand.email import tasks as email_tasks
from bandstand.jobs import staff_tasks
from bandstand.jobs import tables as jobs_tables
from bandstand.storage import tables as storage_tables

if TYPE_CHECKING:
    from litestar.types import ControllerRouterHandler
    from piccolo_admin.endpoints import TableConfig

    from bandstand.ai.tools import Tool
    from bandstand.jobs import Task
    from bandstand.settings import Settings
    from bandstand.storage.base import Storage


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
    # Its routes, or the dotted path of the module whose `ROUTES` they are, imported when the
    # app is built (as Django's ROOT_URLCONF is): the CLI, which builds no app, then imports
    # neither Litestar nor the handlers, which were most of a command's start-up.
    routes: Sequence[ControllerRouterHandler] | str = ()
    tables: Sequence[type[Table]] = ()
    # The module with Piccolo Admin's view of the feature's tables: `ADMIN`, or, when it needs
    # the app's storage (media columns), `admin_tables(storage, settings)`. A dotted path, imported
    # when the admin is first used: importing Piccolo Admin and FastAPI slows start-up.
    admin: str | None = None
    # A folder of the feature's own templates, like a Django app's `templates/`: searched after
    # the site's `templates/` (which can override them) and before the framework's. A site's
    # features keep theirs in `templates/<feature>/`, and need none.
    templates: Path | None = None
    # Its background jobs' tasks (bandstand/jobs/): listed so that every worker process, which
    # imports the features, knows them.
    tasks: Sequence[Task[Any, Any]] = ()
    # The dotted path of the module whose `TOOLS` an LLM may call over the feature's data
    # (bandstand/ai/tools.py), for whoever asks: each checks the user's permissions itself.
    # Imported when the app is built, as `routes` are.
    tools: str | None = None
    # Loads the feature's demo data; must be idempotent.
    load_demo: Callable[[], Awaitable[None]] | None = None
    clear_demo: Callable[[], Awaitable[None]] | None = None

    def route_handlers(self) -> Sequence[ControllerRouterHandler]:
        if isinstance(self.routes, str):
            return importlib.import_module(self.routes).ROUTES  # type: ignore[no-any-return]
        return self.routes

    def ai_tools(self) -> Sequence[Tool[Any]]:
        if self.tools is None:
            return ()
        return importlib.import_module(self.tools).TOOLS  # type: ignore[no-any-return]

    def admin_tables(self, storage: Storage, settings: Settings) -> Sequence[TableConfig]:
        if self.admin is None:
            return ()
        module = importlib.import_module(self.admin)
        if hasattr(module, "admin_tables"):
            return module.admin_tables(storage, settings)  # type: ignore[no-any-return]
        return module.ADMIN  # type: ignore[no-any-return]


# Their tables are the `bandstand` Piccolo app's (bandstand/piccolo_app.py), migrated by it.
FRAMEWORK_FEATURES: tuple[Feature, ...] = (
    Feature("health", routes="bandstand.health.routes"),
    Feature("storage", routes="bandstand.storage.routes", tables=storage_tables.TABLES),
    Feature(
        "jobs",
        nav=NavLink("Jobs", "/jobs", "Background jobs: queued, running, failed", staff_only=True),
        routes="bandstand.jobs.routes",
        tables=jobs_tables.TABLES,
        admin="bandstand.jobs.admin",
        tasks=(staff_tasks.demo_data, staff_tasks.take_backup, staff_tasks.prune_jobs),
    ),
    Feature("email", tasks=(email_tasks.send_email,)),
    Feature(
        "accounts",
        routes="bandstand.accounts.routes",
        tables=accounts_tables.TABLES,
        admin="bandstand.accounts.admin",
        tasks=(
            accounts_tasks.send_password_reset,
            accounts_tasks.send_email_confirmation,
            accounts_tasks.send_address_change,
            accounts_tasks.send_address_changed,
        ),
    ),
    Feature(
        "audit",
        tables=audit_tables.TABLES,
        admin="bandstand.audit.admin",
        tasks=(audit_tasks.prune_audit_log,),
    ),
    Feature("ai", tables=ai_tables.TABLES, admin="bandstand.ai.admin"),
)


def with_framework(features: Sequence[Feature]) -> tuple[Feature, ...]:
    """The framework's features, then the site's: what a site built from `features` serves."""
    return (*FRAMEWORK_FEATURES, *features)
