"""docs/releases.md: a section for the version the package says it is, and the upgrade guide's
example pin on that version, so a version bumped without its notes fails here."""

from __future__ import annotations

import re
from pathlib import Path

from bandstand import __version__
from tests.support import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
VERSION_HEADING = re.compile(r"^## (\d+)\.(\d+)\.(\d+) \(\d{4}-\d{2}-\d{2}\)$", re.MULTILINE)
LOCAL_LINK = re.compile(r"\]\(([\w./-]+\.md)(?:#([\w-]+))?\)")


def anchors(page: Path) -> set[str]:
    """The ids of the page's headings, as GitHub makes them."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), re.MULTILINE)
    return {
        re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings
    }


def test_the_newest_notes_are_for_this_version_and_newest_first() -> None:
    versions = [
        tuple(int(part) for part in found)
        for found in VERSION_HEADING.findall((DOCS / "releases.md").read_text())
    ]
    assert versions, "no '## X.Y.Z (date)' section"
    assert ".".join(map(str, versions[0])) == __version__
    assert versions == sorted(versions, reverse=True)


def test_the_upgrade_guide_names_this_version_and_links_the_notes() -> None:
    guide = (DOCS / "upgrading.md").read_text()
    assert f'"bandstand=={__version__}"' in guide
    assert "](releases.md)" in guide


def test_the_notes_links_lead_to_pages_and_headings_that_exist() -> None:
    notes = DOCS / "releases.md"
    links = LOCAL_LINK.findall(notes.read_text())
    assert links
    for page, anchor in links:
        target = (notes.parent / page).resolve()
        assert target.is_file(), page
        if anchor:
            assert anchor in anchors(target), f"{page}#{anchor}"
