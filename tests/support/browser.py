"""A real browser for the tests: Debian's Chromium driven by Playwright (never a downloaded one)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.mandatory import skip_unless_ci

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Per test: sync Playwright keeps its event loop running in this thread while it lives,
    which would stop the next async test from starting its own."""
    executable = next(filter(None, map(shutil.which, CHROMIUM_CANDIDATES)), None)
    if executable is None:
        skip_unless_ci("Chromium not found: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            # Root in a container has no user namespace for the sandbox; the rest keeps
            # Chromium off a network this machine does not have.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
