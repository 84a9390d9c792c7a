"""XSS where pages are drawn by JavaScript: Piccolo Admin (a Vue app: rows come as JSON and
are rendered in the browser), on the sample site's tables, and the site's own list page. In
Chromium, every payload shows as the text it is; nothing runs (no dialog opens) and no element
or attribute the payloads describe appears in the page."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bandstand.testing.accounts import CSRF_FIELD
from tests.stress.figures import Figures
from tests.stress.payloads import XSS, email_for
from tests.stress.traffic import SUPERUSER, SUPERUSER_PASSWORD

pytestmark = pytest.mark.engine_independent

PART = "hostile input: XSS in the browser"
# What a page holds that a payload must not have made: elements that run or load code, and
# attributes that do. Returns their markup, for the failure message.
INJECTED = """() => [...document.querySelectorAll('*')].filter(e =>
    ['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'BASE', 'FRAME'].includes(e.tagName) && !e.src
    || e.tagName === 'META' && /refresh/i.test(e.httpEquiv)
    || [...e.attributes].some(a => a.name.startsWith('on')
        || /^(href|src|action|formaction|data)$/.test(a.name)
            && /^\\s*(javascript|data):/i.test(a.value))
).map(e => e.outerHTML.slice(0, 160))"""
# The markers the page does not show as text (in its text, or in its form fields' values).
MISSING = """(markers) => {
    const text = document.body.textContent
        + [...document.querySelectorAll('input, textarea')].map(e => e.value).join('\\n');
    return markers.filter(marker => !text.includes(marker));
}"""


def log_in(client: httpx.Client) -> None:
    """Log a client in to the sample site as its superuser, with the CSRF header set."""
    token = CSRF_FIELD.search(client.get("/login").text)
    assert token
    response = client.post(
        "/login",
        data={"username": SUPERUSER, "password": SUPERUSER_PASSWORD, "_csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text
    client.headers["x-site-csrf"] = token.group(1)


def tagged(payload: str, number: int) -> str:
    return f"{payload} ~h{number:02d}"


def packed(payloads: list[str], width: int) -> list[str]:
    """The payloads joined into as few strings of at most `width` characters as they fit."""
    groups: list[str] = []
    for payload in payloads:
        if groups and len(groups[-1]) + 1 + len(payload) <= width:
            groups[-1] += " " + payload
        else:
            groups.append(payload)
    return groups


def check(page: Page, where: str, markers: list[str], problems: list[str]) -> None:
    # The Vue app fills the page in after it loads; what never comes is reported
    # below, marker by marker.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"m => ({MISSING})(m).length === 0", arg=markers, timeout=10_000)
    missing: list[str] = page.evaluate(MISSING, markers)
    injected: list[str] = page.evaluate(INJECTED)
    problems += [f"{where}: not shown as text: {marker!r}" for marker in missing]
    problems += [f"{where}: injected {element}" for element in injected]


def test_payloads_render_as_text_in_the_admin_and_the_site(
    sample_server: str, browser: Browser, figures: Figures
) -> None:
    site = sample_server
    payloads = [tagged(raw, number) for number, raw in enumerate(XSS)]
    # The admin's lists cut a value at 80 characters and show 15 rows: each list gets a share
    # of the payloads, packed into values short enough to be seen whole.
    groups = packed(payloads, 78)
    assert len(groups) <= 45, "more payloads than the admin's first pages show"
    shares = {"album": groups[:15], "fan": groups[15:30], "venue": groups[30:]}
    everything = "\n".join(payloads)
    notes = everything[:2000]
    in_notes = [payload for payload in payloads if payload in notes]
    with httpx.Client(base_url=site) as api:
        log_in(api)
        band = api.get("/api/albums").json()["items"][0]["band"]["id"]
        for title in shares["album"]:
            body = {"title": title, "description": everything, "price": "1", "band_id": band}
            album = api.post("/api/albums", json=body)
            assert album.status_code == 201, album.text
        for number, name in enumerate(shares["fan"]):
            body = {
                "name": name,
                "notes": notes,
                "email": email_for(name, number),
                "band_id": band,
            }
            fan = api.post("/api/fans", json=body)
            assert fan.status_code == 201, fan.text
        # Venues have no page of their own: the admin is where they are written.
        api.get("/admin/")
        admin = {"X-CSRFToken": api.cookies["csrftoken"], "Origin": site}
        for name in shares["venue"]:
            body = {"name": name, "capacity": 100}
            venue = api.post("/admin/api/tables/venue/", json=body, headers=admin)
            assert venue.status_code == 201, venue.text
    edits = {
        "album": (album.json()["id"], payloads),
        "fan": (fan.json()["id"], in_notes),
    }

    page = browser.new_page()
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:
        dialogs.append(f"{page.url}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", opened)
    page.goto(f"{site}/login")
    page.fill("#username", SUPERUSER)
    page.fill("#password", SUPERUSER_PASSWORD)
    page.click("button[type=submit]")
    problems: list[str] = []
    pages = 0
    for table, share in shares.items():
        page.goto(f"{site}/admin/#/{table}?__order=-id")
        check(page, f"admin {table} list", share, problems)
        pages += 1
    for table, (row, shown) in edits.items():
        page.goto(f"{site}/admin/#/{table}/{row}")
        check(page, f"admin {table} {row}", shown, problems)
        pages += 1
    page.goto(f"{site}/albums?q=~h")
    check(page, "albums page", shares["album"], problems)
    page.goto(f"{site}/fans?q=~h")
    check(page, "fans page", shares["fan"], problems)
    pages += 2
    page.close()
    figures.record(PART, "payloads in the admin's list and edit pages", len(payloads))
    figures.record(PART, "pages checked in Chromium", pages)
    figures.record(PART, "script dialogs opened by a payload", len(dialogs))
    assert not dialogs, "\n".join(dialogs)
    assert not problems, "\n".join(problems)
