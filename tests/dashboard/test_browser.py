"""In a real browser, under the site's strict Content-Security-Policy: the charts draw from the API,
fold their tables away, and follow the theme toggle."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Browser, Page, expect

from project.catalog import demo as catalog_demo
from project.dashboard.queries import PRICE_BANDS
from project.webinars import demo as webinars_demo
from tests.support.accounts import SITE_PASSWORD
from tests.support.browser import page_problems, save_screenshot
from tests.support.security_headers import SITE_POLICY, parse_policy


def expected_bands() -> list[int]:
    counts = [0] * len(PRICE_BANDS)
    for *_, price, _ in catalog_demo.PRODUCTS:
        uppers = [upper for _, upper in PRICE_BANDS]
        counts[next(i for i, top in enumerate(uppers) if top is None or Decimal(price) < top)] += 1
    return counts


def chart_data(page: Page, series: str) -> list[int]:
    data: list[int] = page.evaluate(
        "(id) => Chart.getChart(document.getElementById(id)).data.datasets[0].data",
        f"{series}-chart",
    )
    return data


def test_charts_draw_under_a_strict_csp_and_follow_the_theme(site: str, browser: Browser) -> None:
    # Without animation the charts are complete as soon as they are drawn.
    page = browser.new_page(color_scheme="light", reduced_motion="reduce")
    problems = page_problems(page)

    page.goto(f"{site}/login?next=/dashboard")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
    with page.expect_response(f"{site}/dashboard") as dashboard:
        page.click("main button[type=submit]")
    # The app's own policy: no inline script or style, nothing from another origin.
    assert parse_policy(dashboard.value.headers["content-security-policy"]) == SITE_POLICY

    canvases = page.locator("canvas[data-series]")
    expect(canvases).to_have_count(3)
    for index in range(3):
        expect(canvases.nth(index)).to_be_visible()
    expect(page.locator("details.chart-figures[open]")).to_have_count(0)
    per_category: dict[str, int] = {}
    for slug, *_ in catalog_demo.PRODUCTS:
        name = catalog_demo.CATEGORIES[slug]
        per_category[name] = per_category.get(name, 0) + 1
    assert chart_data(page, "products_per_category") == [
        per_category[name] for name in sorted(per_category, key=str.casefold)
    ]
    assert chart_data(page, "price_distribution") == expected_bands()
    registrations = chart_data(page, "registrations_per_day")
    assert len(registrations) == 30
    assert sum(registrations) == webinars_demo.REGISTRANTS
    save_screenshot(page, "dashboard-light")

    tick_colour = (
        "() => Chart.getChart(document.querySelector('canvas')).options.scales.x.ticks.color"
    )
    light = page.evaluate(tick_colour)
    page.locator(".theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.wait_for_function(f"({tick_colour})() !== {light!r}")
    save_screenshot(page, "dashboard-dark")

    assert problems == []

    # Without JavaScript: no empty canvases, the figures in plain sight.
    still = browser.new_context(
        storage_state=page.context.storage_state(), java_script_enabled=False
    )
    plain = still.new_page()
    plain.goto(f"{site}/dashboard")
    expect(plain.locator("canvas[data-series]").first).to_be_hidden()
    expect(plain.locator("details.chart-figures[open]")).to_have_count(3)
    expect(plain.get_by_role("row", name=f"Datasets {per_category['Datasets']}")).to_be_visible()
    save_screenshot(plain, "dashboard-no-javascript")
    still.close()
    page.close()
