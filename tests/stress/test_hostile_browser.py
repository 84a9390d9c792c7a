"""XSS where pages are drawn by JavaScript: Piccolo Admin (a Vue app: rows come as JSON and
are rendered in the browser) and the chat (tokens added as they stream, the answer's HTML put
in at the end). In Chromium, every payload shows as the text it is; nothing runs (no dialog
opens) and no element or attribute the payloads describe appears in the page."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.stress.figures import Figures
from tests.stress.payloads import XSS, email_for
from tests.support.accounts import SITE_PASSWORD, site_login

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
    # The Vue app and the chat fill the page in after it loads; what never comes is reported
    # below, marker by marker.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"m => ({MISSING})(m).length === 0", arg=markers, timeout=10_000)
    missing: list[str] = page.evaluate(MISSING, markers)
    injected: list[str] = page.evaluate(INJECTED)
    problems += [f"{where}: not shown as text: {marker!r}" for marker in missing]
    problems += [f"{where}: injected {element}" for element in injected]


def test_payloads_render_as_text_in_the_admin_and_the_chat(
    site: str, browser: Browser, figures: Figures
) -> None:
    payloads = [tagged(raw, number) for number, raw in enumerate(XSS)]
    # The admin's lists cut a value at 80 characters and show 15 rows: each list gets a share
    # of the payloads, packed into values short enough to be seen whole.
    groups = packed(payloads, 78)
    assert len(groups) <= 45, "more payloads than the admin's first pages show"
    shares = {"product": groups[:15], "registrant": groups[15:30], "conversation": groups[30:]}
    everything = "\n".join(payloads)
    notes = everything[:2000]
    in_notes = [payload for payload in payloads if payload in notes]
    with httpx.Client(base_url=site) as api:
        site_login(api)
        category = api.get("/api/products").json()["items"][0]["category"]["id"]
        for name in shares["product"]:
            body = {"name": name, "description": everything, "price": "1", "category_id": category}
            product = api.post("/api/products", json=body)
            assert product.status_code == 201, product.text
        for number, name in enumerate(shares["registrant"]):
            body = {
                "name": name,
                "company": name,
                "notes": notes,
                "email": email_for(name, number),
                "webinar_date": "2099-01-01",
            }
            registrant = api.post("/api/webinars/registrants", json=body)
            assert registrant.status_code == 201, registrant.text
        for title in shares["conversation"]:
            conversation = api.post("/api/chat/conversations", json={"title": title})
            assert conversation.status_code == 201, conversation.text
    edits = {
        "product": (product.json()["id"], payloads),
        "registrant": (registrant.json()["id"], in_notes),
    }

    page = browser.new_page()
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:
        dialogs.append(f"{page.url}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", opened)
    page.goto(f"{site}/login")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
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
    page.goto(f"{site}/products?q=~h")
    check(page, "products page", shares["product"], problems)
    pages += 1

    # The chat, in the page: a few payloads sent through its form, the answers streamed in.
    page.goto(f"{site}/chat")
    page.click("form[action='/chat'] button")
    sent = payloads[:: max(1, len(payloads) // 6)]
    for number, payload in enumerate(sent, start=1):
        page.fill("#content", payload)
        page.click("#send button")
        expect(page.locator(".message.assistant")).to_have_count(number)
        expect(page.locator(".message.assistant").last).to_have_class("message assistant complete")
    check(page, "chat, streamed", sent, problems)
    page.reload()
    check(page, "chat, reloaded", sent, problems)
    pages += 2
    page.close()
    figures.record(PART, "payloads in the admin's list and edit pages", len(payloads))
    figures.record(PART, "payloads streamed through the chat page", len(sent))
    figures.record(PART, "pages checked in Chromium", pages)
    figures.record(PART, "script dialogs opened by a payload", len(dialogs))
    assert not dialogs, "\n".join(dialogs)
    assert not problems, "\n".join(problems)
