"""In a real browser: send a message and watch the answer grow, token by token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.accounts import SITE_PASSWORD, prepare_site_database
from tests.support.browser import screenshot_path
from tests.support.live_server import live_server


@pytest.fixture
def chat_site(fresh_database_url: str) -> Iterator[str]:
    prepare_site_database(fresh_database_url)
    # The offline provider at a pace a person (and this test) can watch.
    with live_server(DATABASE_URL=fresh_database_url, LLM_OFFLINE_TOKEN_DELAY_MS="60") as base:
        yield base


def new_conversation(browser: Browser, site: str) -> Page:
    """A page on a new conversation, logged in as the site's superuser."""
    page = browser.new_page()
    page.goto(f"{site}/login?next=/chat")
    page.fill("#username", "admin")
    page.fill("#password", SITE_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{site}/chat")
    page.get_by_role("button", name="New conversation").first.click()
    return page


def test_the_answer_grows_as_it_streams(chat_site: str, browser: Browser) -> None:
    page = new_conversation(browser, chat_site)
    expect(page.get_by_text("Answers come from:")).to_contain_text("offline demo provider")

    page.fill("#content", "Hello <b>world</b>")
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".message.assistant .body").last
    lengths = []
    for _ in range(12):
        lengths.append(len(answer.inner_text()))
        page.wait_for_timeout(150)
    expect(page.locator(".message.assistant.complete")).to_have_count(1, timeout=15000)

    # Seen at several, growing lengths while streaming (at the end, the rendered markdown
    # replaces the raw text and may be a little shorter).
    growing = [length for length in lengths if length > 0][:5]
    assert len(growing) == 5, lengths
    assert growing == sorted(set(growing)), lengths
    expect(answer.locator("strong")).to_have_text("offline")  # markdown, rendered at the end
    expect(page.locator(".message.user .body").last).to_have_text("Hello <b>world</b>")
    page.screenshot(path=screenshot_path("chat"))
    page.close()


@pytest.fixture
def budget_site(fresh_database_url: str) -> Iterator[str]:
    prepare_site_database(fresh_database_url)
    # 20 tokens a day: the offline provider's first answer (28 words, a token each, after a
    # 2-token prompt) stops at 18 of them, and the budget is then spent.
    with live_server(DATABASE_URL=fresh_database_url, AI_BUDGET_DAILY_TOKENS="20") as base:
        yield base


def test_an_answer_stops_at_the_budget_and_the_next_message_is_refused(
    budget_site: str, browser: Browser
) -> None:
    page = new_conversation(browser, budget_site)

    page.fill("#content", "Hello")
    page.get_by_role("button", name="Send").click()
    limited = page.locator(".message.assistant.limited")
    expect(limited).to_have_count(1, timeout=15000)
    expect(limited.locator(".notice")).to_have_text(
        "The answer stopped here: it reached the limit of your AI budget."
    )
    # Its 18th word, and no more.
    assert limited.locator(".body").inner_text().endswith("the first was Hello.\n\nSet LLM_API_KEY")

    page.fill("#content", "And now?")
    page.get_by_role("button", name="Send").click()
    refusal = "Your daily AI budget is spent (20 of 20 tokens). It renews at 00:00 UTC."
    expect(page.locator(".message.assistant .error").last).to_have_text(refusal)

    page.reload()
    expect(page.locator("#budget")).to_have_text(refusal)
    expect(page.get_by_text("(stopped at the limit of your AI budget)")).to_have_count(1)
    page.close()


def test_a_tool_call_shows_folded_above_the_answer(chat_site: str, browser: Browser) -> None:
    page = new_conversation(browser, chat_site)

    page.fill("#content", "search_products <b>nothing-matches-this</b>")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".message.assistant.complete")).to_have_count(1, timeout=15000)

    tool = page.locator(".message.assistant details.tool")
    expect(tool).to_have_count(1)
    expect(tool.locator("summary")).to_have_text("Tool search_products")
    expect(tool.locator("pre")).not_to_be_visible()  # folded
    tool.locator("summary").click()
    expect(tool.locator("pre")).to_have_text('{"total":0,"products":[]}')
    expect(tool.locator("code").last).to_have_text('{"query": "<b>nothing-matches-this</b>"}')
    # The same after a reload, from what was saved.
    page.reload()
    saved = page.locator(".message.assistant details.tool")
    expect(saved.locator("summary")).to_have_text("Tool search_products")
    page.close()
