"""The products demo in a real browser on a real server: live search, filters, pages, detail,
and staff editing with the server's validation messages; no CSP violation anywhere."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from project.catalog.demo import PRODUCTS
from tests.support.accounts import SITE_PASSWORD
from tests.support.browser import page_problems, save_screenshot

MATCHING = sum("model" in f"{name} {description}".lower() for _, name, description, *_ in PRODUCTS)


def test_search_as_you_type_filter_page_and_edit(site: str, browser: Browser) -> None:
    page = browser.new_page()
    problems = page_problems(page)
    rows = page.locator("#results tbody tr")

    page.goto(site)
    expect(page.get_by_role("link", name="Products").first).to_be_visible()
    save_screenshot(page, "home")
    page.goto(f"{site}/products")
    expect(page.locator("#result-count")).to_have_text("32 products")
    expect(rows).to_have_count(20)
    save_screenshot(page, "products")

    # Typing swaps the results in place (no navigation) and puts the search in the URL.
    page.evaluate("window.notReloaded = true")
    page.locator("#q").press_sequentially("model", delay=40)
    expect(page.locator("#result-count")).to_have_text(f"{MATCHING} products matching “model”")
    expect(page).to_have_url(f"{site}/products?q=model&category=&sort=name")
    assert page.evaluate("window.notReloaded") is True
    save_screenshot(page, "products-search")

    page.locator("#q").fill("")
    page.select_option("select[name=category]", "courses")
    page.select_option("select[name=sort]", "-price")
    expect(page.locator("#result-count")).to_have_text("6 products")
    expect(rows.first).to_contain_text("Shipping LLM apps")

    page.select_option("select[name=category]", "")
    page.get_by_role("link", name="Next →").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    page.go_back()
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Training rack, 8 GPUs")
    save_screenshot(page, "product-detail")

    page.goto(f"{site}/login?next=/products/new")
    save_screenshot(page, "login")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{site}/products/new")
    page.fill("#name", "Keyboard for prompts")
    page.fill("#price", "-5")
    page.click("main button[type=submit]")
    expect(page.locator("#price-error")).to_have_text("Enter a price from 0 to 99,999,999.99.")
    expect(page.locator("#category_id-error")).to_have_text("This field is required.")
    expect(page.locator("#name")).to_have_value("Keyboard for prompts")
    save_screenshot(page, "product-form-errors")

    page.fill("#price", "59.00")
    page.select_option("#category_id", label="GPUs")
    page.click("main button[type=submit]")
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard for prompts")
    expect(page.locator(".flash")).to_have_text("Added Keyboard for prompts.")

    # Deleting asks first (an Alpine component): dismissed, nothing happens; accepted, it goes.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard for prompts")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".flash")).to_have_text("Deleted Keyboard for prompts.")
    expect(page).to_have_url(f"{site}/products")

    # The theme switch (an Alpine component under the strict CSP) flips and remembers.
    page.click(".theme-toggle")
    theme = page.evaluate("document.documentElement.dataset.theme")
    assert theme in ("dark", "light")
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == theme

    assert problems == []
    page.close()
