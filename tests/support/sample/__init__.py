"""A sample site for the framework's own tests: one feature with the kinds of routes a site
has (a searchable, paged list page, a detail page, staff forms with validation, a public form,
a JSON API with public reads, staff writes and a public create, an image upload through the
site's storage, a group's page), on the test-only tables of tests/support/tables.py.

    app = sample_app()  # create_app([SAMPLE]) with the sample's templates

Its templates are its own (`templates/sample/`), beside the site's and the framework's: the
framework looks for templates in the site's folder only, so `sample_app` adds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import msgspec
from jinja2 import ChoiceLoader, FileSystemLoader
from litestar import Litestar
from litestar.plugins.jinja import JinjaTemplateEngine

from bandstand.app import create_app
from bandstand.features import Feature, NavLink
from bandstand.settings import Settings, get_settings
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
    load_demo=demo.load,
    clear_demo=demo.clear,
)


def sample_app(settings: Settings | None = None) -> Litestar:
    """The framework's features and SAMPLE, on `settings` (by default the environment's).
    Reads templates: call it outside the event loop."""
    app = create_app([SAMPLE], settings, name=NAME)
    engine = app.template_engine
    assert isinstance(engine, JinjaTemplateEngine)
    environment = engine.engine
    assert environment.loader is not None
    environment.loader = ChoiceLoader([environment.loader, FileSystemLoader(TEMPLATES)])
    # Compiled now, as the framework compiles its own: no file is read inside a request. All
    # of them again: Jinja's cache is by loader.
    for name in environment.list_templates(extensions=["html"]):
        environment.get_template(name)
    return app


async def build_sample_app(**changes: Any) -> Litestar:
    """The sample site with some settings changed, built off the event loop."""
    settings = msgspec.structs.replace(get_settings(), **changes)
    return await anyio.to_thread.run_sync(sample_app, settings)
