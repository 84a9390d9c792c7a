"""A real browser for the tests: Debian's Chromium driven by Playwright (never a downloaded one)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright

from tests.support.mandatory import skip_unless_ci

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A browser test runs once, in the SQLite pass: what it checks is what the page does in
    a browser (scripts, htmx, the CSP), the same on either database, and every request it
    makes is tested on both databases by its feature's route and API tests."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine_independent)


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


def save_screenshot(page: Page, name: str) -> None:
    """The whole page into test-artifacts/<name>.png. The caret stays as it is: Playwright
    hides it by styling the focused field, which leaves a style="" behind that htmx's history
    snapshot carries and a strict CSP then (rightly) reports."""
    page.screenshot(path=screenshot_path(name), full_page=True, caret="initial")


def page_problems(page: Page) -> list[str]:
    """Start recording what a person would not see but a developer must: console errors
    (Content-Security-Policy violations among them), uncaught exceptions, and requests for
    scripts, styles, images or data that failed. Pages answered with a 4xx are left to the
    test: showing a form again with a 400 is deliberate."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The browser logs every 4xx as "Failed to load resource"; responses are judged below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console on {page.url}: {message.text} at {message.location}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(f"{response.status}: {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(f"exception: {error}"))
    page.on("requestfailed", lambda request: _failed(request, problems))
    return problems


def _failed(request: Request, problems: list[str]) -> None:
    # The browser drops what is still loading (the favicon, say) when the test moves to the
    # next page: that is no failure of the site's.
    if request.failure != "net::ERR_ABORTED":
        problems.append(f"failed: {request.url} ({request.failure})")
