"""The README's path, in a real browser against a real server: create a superuser with the
documented command, log in at /login, open /admin, edit a row, log out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import run_piccolo
from tests.support.browser import screenshot_path
from tests.support.live_server import live_server


@pytest.fixture
def site(fresh_database_url: str) -> Iterator[str]:
    superuser = {"SUPERUSER_USERNAME": "admin", "SUPERUSER_PASSWORD": "browser-secret"}
    for command in (
        ("migrations", "forwards", "all"),
        ("project", "demo"),
        ("project", "superuser"),
    ):
        result = run_piccolo(*command, database_url=fresh_database_url, **superuser)
        assert result.returncode == 0, result.stdout + result.stderr
    with live_server(DATABASE_URL=fresh_database_url) as base:
        yield base


def test_log_in_edit_a_row_in_the_admin_and_log_out(site: str, browser: Browser) -> None:
    page = browser.new_page()

    # The admin first: its own "csrftoken" cookie must not spoil the site's forms.
    page.goto(f"{site}/admin/")
    page.goto(f"{site}/login?next=/account")
    page.fill("#username", "admin")
    page.fill("#password", "browser-secret")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{site}/account")
    expect(page.locator("main")).to_contain_text("superuser")
    page.screenshot(path=screenshot_path("account"))

    page.click("a[href='/admin/']")
    expect(page.get_by_role("heading", name="Welcome to Bandstand admin")).to_be_visible()
    page.goto(f"{site}/admin/#/product")
    expect(page.get_by_text("Inference box, 1 GPU")).to_be_visible()
    page.screenshot(path=screenshot_path("admin-products"))

    page.locator("tr", has_text="Inference box, 1 GPU").get_by_role("link").first.click()
    expect(page.get_by_text("Edit Product")).to_be_visible()
    page.fill("input[name=name]", "Inference box, 2 GPUs")
    page.click("[data-uitest=save_button]")
    page.goto(f"{site}/products")
    expect(page.locator("main")).to_contain_text("Inference box, 2 GPUs")

    page.click("text=Log out")
    expect(page.locator("header")).to_contain_text("Log in")
    admin_api = page.request.get(f"{site}/admin/api/tables/")
    assert admin_api.status == 401
    page.goto(f"{site}/account")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
    page.close()
