"""The README's path, in a real browser against a real server: create a superuser with the
documented command, log in at /login, open /admin, edit a row, log out; with
STAFF_REQUIRE_2FA, set up two-factor sign-in on the way to the admin and log in with a code;
and link a sign-in provider's account from /account, then log in with it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, expect

from tests.support.accounts import SITE_PASSWORD, prepare_site_database
from tests.support.browser import screenshot_path
from tests.support.live_server import live_server
from tests.support.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    OidcProvider,
    Person,
    running_provider,
)


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


@pytest.fixture
def strict_site(fresh_database_url: str) -> Iterator[str]:
    """The README's site with STAFF_REQUIRE_2FA, as production has it."""
    prepare_site_database(fresh_database_url)
    with live_server(DATABASE_URL=fresh_database_url, STAFF_REQUIRE_2FA="true") as base:
        yield base


def test_a_superuser_sets_up_two_factor_sign_in_and_logs_in_with_a_code(
    strict_site: str, browser: Browser
) -> None:
    site, page = strict_site, browser.new_page()
    page.goto(f"{site}/login")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
    page.click("main button[type=submit]")

    # The admin waits for the second factor.
    page.goto(f"{site}/admin/")
    expect(page).to_have_url(f"{site}/account/two-factor?next=%2Fadmin%2F")
    page.fill("#setup_password", SITE_PASSWORD)
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    qr = page.locator("img[alt='QR code of your two-factor key']")
    expect(qr).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", qr.element_handle()) > 0
    totp = pyotp.TOTP(page.locator("#secret").inner_text().replace(" ", ""))
    page.screenshot(path=screenshot_path("two-factor-setup"))
    page.fill("#code", totp.now())
    page.click("main button[type=submit]")
    expect(page.locator("ul.recovery-codes li")).to_have_count(10)
    page.click("text=Continue")
    expect(page.get_by_role("heading", name="Welcome to Bandstand admin")).to_be_visible()

    page.goto(f"{site}/account")
    page.click("text=Log out")
    page.goto(f"{site}/login?next=/admin/")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{site}/login/code")
    page.fill("#code", totp.at(int(time.time()) + totp.interval))  # the next period's, unused
    page.click("main button[type=submit]")
    expect(page.get_by_role("heading", name="Welcome to Bandstand admin")).to_be_visible()
    page.close()


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    """A sign-in provider named `localhost`: another site than the server's 127.0.0.1, so the
    browser treats the way back as a cross-site navigation, as with a real provider."""
    with running_provider(host="localhost") as running:
        running.add(Person("admin-at-loopback", "someone@example.org"))
        yield running


@pytest.fixture
def provider_site(fresh_database_url: str, provider: OidcProvider) -> Iterator[str]:
    prepare_site_database(fresh_database_url)
    settings = {
        "OIDC_ISSUER": provider.url,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_LABEL": "Loopback ID",
    }
    with live_server(DATABASE_URL=fresh_database_url, **settings) as base:
        yield base


def test_a_provider_account_is_linked_then_signs_in(provider_site: str, browser: Browser) -> None:
    site, page = provider_site, browser.new_page()
    page.goto(f"{site}/login?next=/account")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
    page.click("main form[action='/login'] button[type=submit]")
    expect(page).to_have_url(f"{site}/account")

    page.get_by_role("button", name="Link a Loopback ID account").click()
    expect(page.get_by_role("heading", name="Sign in to Loopback ID")).to_be_visible()
    page.fill("#login_as", "admin-at-loopback")
    page.get_by_role("button", name="Authorize").click()
    expect(page).to_have_url(f"{site}/account")
    expect(page.locator("main")).to_contain_text("Your Loopback ID account signs you in now.")

    page.click("text=Log out")
    page.goto(f"{site}/login?next=/account")
    page.get_by_role("button", name="Log in with Loopback ID").click()
    page.fill("#login_as", "admin-at-loopback")
    page.get_by_role("button", name="Authorize").click()
    expect(page).to_have_url(f"{site}/account")
    expect(page.locator("main")).to_contain_text("admin")
    page.screenshot(path=screenshot_path("provider-sign-in"))
    page.close()
