"""The site's features, like Django's INSTALLED_APPS (the framework adds its own: accounts,
uploaded files, health probes).

Removing a demo is deleting its folders (`project/<name>/`, `templates/<name>/`,
`tests/<name>/`) and its line here, then `piccolo migrations new project --auto`.
"""

from bandstand.features import Feature, NavLink
from project.catalog import demo as catalog_demo
from project.catalog import tables as catalog_tables
from project.chat import tables as chat_tables
from project.pages import demo as pages_demo
from project.webinars import demo as webinars_demo
from project.webinars import tables as webinars_tables
from project.webinars import tasks as webinars_tasks

FEATURES: tuple[Feature, ...] = (
    Feature(
        "pages",
        routes="project.pages.routes",
        load_demo=pages_demo.load,
        clear_demo=pages_demo.clear,
    ),
    Feature(
        "catalog",
        nav=NavLink(
            "Products",
            "/products",
            "A catalog with live search, filters and pages (htmx), and a JSON API.",
        ),
        routes="project.catalog.routes",
        tables=catalog_tables.TABLES,
        admin="project.catalog.admin",
        tools="project.catalog.tools",
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
        routes="project.webinars.routes",
        tables=webinars_tables.TABLES,
        admin="project.webinars.admin",
        tasks=(webinars_tasks.process_photo,),
        tools="project.webinars.tools",
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
        routes="project.chat.routes",
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
        routes="project.dashboard.routes",
    ),
)
