"""The webinars demo in a real browser on a real server: register, then as staff find the
registrant, upload a photo and see it appear once a job has processed it; no CSP violation
anywhere."""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import Browser, FilePayload, expect

from tests.support.accounts import SITE_PASSWORD
from tests.support.browser import page_problems, save_screenshot
from tests.webinars.conftest import in_days


def test_register_then_staff_upload_a_photo(site: str, browser: Browser) -> None:
    page = browser.new_page()
    problems = page_problems(page)

    page.goto(f"{site}/webinars")
    save_screenshot(page, "webinars-register")
    page.fill("#name", "Hedy Lamarr")  # a demo registrant has the name too
    page.fill("#email", "not an address")
    page.fill("#webinar_date", in_days(10))
    page.click("main button[type=submit]")
    expect(page.locator("#email-error")).to_have_text("Enter a valid value.")
    expect(page.locator("#name")).to_have_value("Hedy Lamarr")
    page.fill("#email", "hedy@example.com")
    page.click("main button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Thank you, Hedy Lamarr")

    page.goto(f"{site}/login?next=/webinars/registrants")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{site}/webinars/registrants")
    page.locator("#q").press_sequentially("lamarr", delay=40)
    expect(page.locator("#registrants")).to_contain_text("registrants matching “lamarr”")
    save_screenshot(page, "webinars-registrants")
    page.get_by_role("link", name="Hedy Lamarr", exact=True).click()

    picture = io.BytesIO()
    Image.new("RGB", (300, 200), "orange").save(picture, format="JPEG")
    chosen = FilePayload(name="hedy.jpg", mimeType="image/jpeg", buffer=picture.getvalue())
    page.set_input_files("#photo", files=[chosen])
    expect(page.get_by_alt_text("Preview of the chosen photo")).to_be_visible()
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator(".flash")).to_have_text(re.compile("^Photo uploaded"))
    # The server's job re-encodes it; the page asks again until the photo is there (htmx).
    photo = page.get_by_alt_text("Photo of Hedy Lamarr")
    expect(photo).to_have_attribute("src", re.compile(r"^/media/registrants/[0-9a-f]{32}\.jpg$"))
    # Loaded and decoded by the browser, not just present in the markup.
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("image => image.naturalWidth") == 300
    save_screenshot(page, "webinars-registrant")

    page.goto(f"{site}/webinars/registrants")
    expect(page.locator("#registrants img").first).to_be_visible()
    assert problems == []
    page.close()
