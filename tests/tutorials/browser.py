"""What a reader does in a browser, done over HTTP the way the site's own pages do it: open a
page and read its text, log in with the form, add a row with Piccolo Admin's API (what its
form sends), chat through the API the chat page's script calls."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any

import httpx

from bandstand.testing.sse import parse_sse

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
# What a browser sends, so the site answers with its HTML pages (errors included).
BROWSER_HEADERS = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
TIMEOUT = 60.0


class BrowserError(AssertionError):
    """The site did not do what the tutorial says it does."""


@dataclass
class ChatReply:
    conversation: str  # the conversation page's path, /chat/<id>
    reply: str  # the tokens as they streamed, joined
    tokens: int
    done: dict[str, Any] = field(default_factory=dict)


# Elements that flow within a line of text: no space around them, as a browser shows them.
INLINE = frozenset(
    {"a", "abbr", "b", "bdi", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark", "q"}
    | {"s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var"}
)
HIDDEN = frozenset({"script", "style", "template"})


class _Text(HTMLParser):
    """The text a person sees: no markup, scripts or styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden += 1
        if tag not in INLINE:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN and self._hidden:
            self._hidden -= 1
        if tag not in INLINE:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join(unescape("".join(parser.parts)).split())


class Browser:
    """One reader's browser on the site at `base`: its cookies outlive server restarts, as a
    browser's do (the sessions live in the database)."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(
            base_url=base, headers=BROWSER_HEADERS, follow_redirects=True, timeout=TIMEOUT
        )

    def close(self) -> None:
        self.client.close()

    def page_text(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        if response.status_code != status:
            raise BrowserError(
                f"GET {path}: status {response.status_code}, not {status}:\n"
                f"{visible_text(response.text)[:2000]}"
            )
        return visible_text(response.text)

    def log_in(self, username: str, password: str) -> None:
        token = self._form_token("/login")
        response = self.client.post(
            "/login",
            data={"username": username, "password": password, "next": "", "_csrf_token": token},
            follow_redirects=False,
        )
        if response.status_code != 303:
            raise BrowserError(f"log in as {username}: status {response.status_code}")
        # The chat page's script sends the same token in this header.
        self.client.headers["x-site-csrf"] = token

    def admin_add(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """Fill in the admin's "Add row" form and save: the form starts from the defaults the
        admin's API gives for a new row."""
        self.client.get("/admin/")  # Piccolo Admin sets its own CSRF cookie here
        new = self.client.get(f"/admin/api/tables/{table}/new/")
        if new.status_code != 200:
            raise BrowserError(f"the admin has no {table} table: {new.status_code} {new.text}")
        response = self.client.post(
            f"/admin/api/tables/{table}/",
            json={**new.json(), **row},
            headers={"X-CSRFToken": self.client.cookies.get("csrftoken") or ""},
        )
        if response.status_code not in {200, 201}:
            raise BrowserError(
                f"the admin did not add a {table} row: {response.status_code} {response.text}"
            )
        created: list[dict[str, Any]] = response.json()
        return created[0] if created else {}

    def chat(self, message: str) -> ChatReply:
        """Press "New conversation" at /chat, then send `message` and read the streamed answer."""
        token = self._form_token("/chat")
        page = self.client.post("/chat", data={"_csrf_token": token})
        conversation = page.url.path
        if page.status_code != 200 or not re.fullmatch(r"/chat/\d+", conversation):
            raise BrowserError(f"New conversation: status {page.status_code} at {page.url}")
        url = f"/api/chat/conversations/{conversation.rsplit('/', 1)[1]}/messages"
        with self.client.stream(
            "POST", url, json={"content": message}, headers={"accept": "text/event-stream"}
        ) as response:
            if response.status_code != 200:
                raise BrowserError(f"sending {message!r}: status {response.status_code}")
            events = parse_sse("\n".join(response.iter_lines()))
        tokens = [str(data) for kind, data in events if kind == "token"]
        errors = [data for kind, data in events if kind == "error"]
        done = [data for kind, data in events if kind == "done"]
        if errors or not done or not tokens:
            raise BrowserError(f"the answer did not stream: {events}")
        return ChatReply(conversation, "".join(tokens), len(tokens), dict(done[-1]))

    def _form_token(self, path: str) -> str:
        found = CSRF_FIELD.search(self.client.get(path).text)
        if not found:
            raise BrowserError(f"no form with a CSRF token at {path}")
        return found.group(1)
