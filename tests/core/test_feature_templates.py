"""A feature's own templates folder (`Feature.templates`), between the site's and the
framework's: its pages render from it, and the site's `templates/` overrides it."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import msgspec
from litestar import get
from litestar.response import Template

from bandstand.app import create_app
from bandstand.features import Feature
from bandstand.settings import get_settings
from bandstand.testing.apps import client_for


@get("/greeting", include_in_schema=False)
async def greeting() -> Template:
    return Template("greeting/page.html")


def write(folder: Path, text: str) -> None:
    (folder / "greeting").mkdir(parents=True)
    (folder / "greeting" / "page.html").write_text(
        '{% extends "base.html" %}{% block content %}' + text + "{% endblock %}"
    )


async def test_a_feature_renders_its_own_templates_which_the_site_overrides(
    tmp_path: Path,
) -> None:
    own, site = tmp_path / "feature-templates", tmp_path / "site"
    await anyio.to_thread.run_sync(write, own, "from the feature")
    feature = Feature("greeting", routes=[greeting], templates=own)

    async def page(project_root: Path) -> str:
        settings = msgspec.structs.replace(get_settings(), project_root=str(project_root))
        app = await anyio.to_thread.run_sync(lambda: create_app([feature], settings))
        async with client_for(app) as client:
            response = await client.get("/greeting")
        assert response.status_code == 200
        return response.text

    shown = await page(tmp_path / "empty-site")
    assert "from the feature" in shown
    assert "<nav" in shown  # on the framework's base.html

    await anyio.to_thread.run_sync(write, site / "templates", "from the site")
    assert "from the site" in await page(site)


async def test_a_template_edited_between_two_builds_is_compiled_again(tmp_path: Path) -> None:
    # Compiled templates are kept for the life of the process (bandstand/templating.py): the
    # second build must still see the file as it is now, even at the same length.
    own = tmp_path / "feature-templates"
    feature = Feature("greeting", routes=[greeting], templates=own)
    settings = msgspec.structs.replace(get_settings(), project_root=str(tmp_path / "site"))
    shown = []
    for text in ("first version", "other version"):
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(own, ignore_errors=True))
        await anyio.to_thread.run_sync(write, own, text)
        app = await anyio.to_thread.run_sync(lambda: create_app([feature], settings))
        async with client_for(app) as client:
            shown.append((await client.get("/greeting")).text)
    assert "first version" in shown[0]
    assert "other version" in shown[1]
    assert "first version" not in shown[1]
