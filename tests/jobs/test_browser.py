"""The jobs page in a real browser on a real server: staff start the demo data job and watch
its page follow it live (Server-Sent Events) to the end; no CSP violation anywhere."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.support.accounts import SITE_PASSWORD
from tests.support.browser import page_problems, save_screenshot


def test_a_job_started_from_the_staff_page_is_followed_live(site: str, browser: Browser) -> None:
    page = browser.new_page()
    problems = page_problems(page)
    page.goto(f"{site}/login?next=/jobs")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{site}/jobs")

    # Reset: clears and loads every demo, long enough to be seen going.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_request(re.compile(r"/jobs/[0-9a-f-]{36}/events$")):  # the live stream
        page.get_by_role("button", name="Demo data: reset").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(site)}/jobs/[0-9a-f-]{{36}}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("bandstand.demo_data")
    # The page reloads itself when the job ends: its result is then in the markup.
    expect(page.locator(".job-status")).to_have_text("done", timeout=30_000)
    expect(page.locator("dd code").first).to_have_text(re.compile(r"^demo data: reset, \d+ step"))
    expect(page.locator("progress")).to_have_js_property("position", 1)
    save_screenshot(page, "jobs-detail")

    page.goto(f"{site}/jobs?status=done")
    expect(page.locator("table")).to_contain_text("bandstand.demo_data")
    save_screenshot(page, "jobs-list")
    assert problems == []
    page.close()
