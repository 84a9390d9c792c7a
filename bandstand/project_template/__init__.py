"""The files of a new project (`bandstand new`): the ones in this folder, and some of the
sample site's, named here.

This folder holds what only a new project has, as `string.Template`s where a file ends in
`.tmpl` (the suffix also keeps ruff, mypy and pytest away from the Python ones). The sample
site's files that a new project shares (its pages, its Piccolo configuration) or, with
`--demo`, copies (the demos, their tests and migrations) are not kept here twice: a wheel gets
them at build time, under `sample_site/` (hatch_build.py), and a checkout reads them where they
are.

Nothing here imports anything but the standard library: the wheel's build hook loads this
module without Bandstand's dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Where a wheel keeps the sample site's files, and where a checkout has them.
BUNDLED_SITE = HERE / "sample_site"
CHECKOUT_SITE = HERE.parent.parent

# The sample site's files every new project has, as they are.
SHARED = (
    ".env.example",
    "piccolo_conf.py",
    "project/piccolo_app.py",
    "project/pages",
    "templates/pages",
)
# The demos, for `bandstand new --demo`; their features.py and site.css replace this folder's.
DEMO = (
    "project/features.py",
    "project/catalog",
    "project/chat",
    "project/dashboard",
    "project/webinars",
    "templates/catalog",
    "templates/chat",
    "templates/dashboard",
    "templates/webinars",
    "static/css/site.css",
    "static/js",
    "static/vendor/chart.umd.min.js",
    "piccolo_migrations",
    "tests/catalog",
    "tests/chat",
    "tests/dashboard",
    "tests/webinars",
)
# The demos' tests that need a browser or the sample site's own test servers and stress
# helpers (tests/support/: the fake LLM, the S3 server; tests/stress/).
LEFT_OUT = frozenset(
    {
        "test_browser.py",
        "test_budgets.py",
        "test_fake_llm.py",
        "test_hostile_input.py",
        "test_photos.py",
        "test_providers.py",
        "test_streaming_live.py",
        "test_tools.py",
    }
)
SKIPPED_FOLDERS = frozenset({"__pycache__", "stress"})


def site_files(site: Path, entries: Iterable[str]) -> Iterator[str]:
    """The files (paths relative to `site`) that `entries` name: files, and folders' files."""
    for entry in entries:
        path = site / entry
        if path.is_file():
            yield entry
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"the sample site has no {entry}")
        for file in sorted(path.rglob("*")):
            relative = file.relative_to(site)
            skipped = file.name in LEFT_OUT or SKIPPED_FOLDERS.intersection(relative.parts)
            if file.is_file() and not skipped:
                yield relative.as_posix()


def all_site_files(site: Path) -> list[str]:
    """Every sample site file a new project may take: what a wheel has to carry."""
    return [*site_files(site, SHARED), *site_files(site, DEMO)]
