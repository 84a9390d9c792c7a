"""A sample site for the framework's own tests: one feature with the kinds of routes a site
has (a searchable, paged list page, a detail page, staff forms with validation, a public form,
a JSON API with public reads, staff writes and a public create, an image upload through the
site's storage, a group's page), on the test-only tables of tests/support/tables.py.

    app = sample_app()  # create_app([SAMPLE], name=NAME)

Its templates are its own (`templates/sample/`), beside the site's and the framework's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar

from bandstand.app import create_app
from bandstand.features import Feature, NavLink
from bandstand.settings import Settings
from bandstand.testing.apps import build_site
from tests.support.sample import api, demo, pages
from tests.support.tables import Album, Band, Fan, Manager, Venue

NAME = "Sample site"
TEMPLATES = Path(__file__).resolve().parent / "templates"

SAMPLE = Feature(
    "sample",
    nav=NavLink("Albums", "/albums", "Albums to search, filter, sort and page through."),
    routes=[*api.ROUTES, *pages.ROUTES],
    tables=[Manager, Band, Album, Fan, Venue],
    admin="tests.support.sample.admin",
    templates=TEMPLATES,
    load_demo=demo.load,
    clear_demo=demo.clear,
)


def sample_app(settings: Settings | None = None) -> Litestar:
    """The framework's features and SAMPLE, on `settings` (by default the environment's).
    Reads templates: call it outside the event loop."""
    return create_app([SAMPLE], settings, name=NAME)


async def build_sample_app(**changes: Any) -> Litestar:
    """The sample site with some settings changed, built off the event loop."""
    return await build_site([SAMPLE], NAME, **changes)
