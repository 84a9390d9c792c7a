"""The README's path, in a real browser against a real server: create a superuser with the
documented command, log in at /login, open /admin, edit a row, log out."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.support.accounts import SITE_PASSWORD
from tests.support.browser import screenshot_path


def test_log_in_edit_a_row_in_the_admin_and_log_out(site: str, browser: Browser) -> None:
    page = browser.new_page()

    # The admin first: its own "csrftoken" cookie must not spoil the site's forms.
    page.goto(f"{site}/admin/")
    page.goto(f"{site}/login?next=/account")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{site}/account")
    expect(page.locator("main")).to_contain_text("superuser")
    page.screenshot(path=screenshot_path("account"))

    page.click("a[href='/admin/']")
    expect(page.get_by_role("heading", name="Welcome to Bandstand admin")).to_be_visible()
    # A framework table's row, edited in the admin and seen on the site: the user's e-mail.
    page.goto(f"{site}/admin/#/piccolo_user")
    expect(page.get_by_text("admin@localhost")).to_be_visible()
    page.screenshot(path=screenshot_path("admin-users"))

    page.locator("tr", has_text="admin@localhost").get_by_role("link").first.click()
    expect(page.get_by_text("Edit Piccolo User")).to_be_visible()
    page.fill("input[name=email]", "owner@example.com")
    with page.expect_response(lambda response: response.request.method == "PATCH") as saved:
        page.click("[data-uitest=save_button]")
    assert saved.value.status == 200
    page.goto(f"{site}/account")
    expect(page.locator("main")).to_contain_text("owner@example.com")

    page.click("text=Log out")
    expect(page.locator("header")).to_contain_text("Log in")
    admin_api = page.request.get(f"{site}/admin/api/tables/")
    assert admin_api.status == 401
    page.goto(f"{site}/account")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
    page.close()
