"""Is a page's markup still the site's own? Checks for the hostile-input tests.

Two independent checks. `leaks`: a stored value holding a character HTML gives meaning to
(< > " ' &) must never appear verbatim in a page, because the templates escape every value
(autoescape), so a verbatim copy means one was not. `injected`: the parsed page holds nothing a
template of this site never writes: inline or off-site scripts, event-handler attributes,
`javascript:` URLs, frames, SVG/MathML, <base>, refresh, inline styles, htmx or Alpine
attributes that fetch from elsewhere or run code. The second also covers what the first can't
see: text that markdown or another renderer transformed before it reached the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

from markupsafe import escape

SPECIAL = re.compile(r"[<>\"'&]")
MIN_DISTINCT = 6
FORBIDDEN_TAGS = {
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "base",
    "style",
}
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "poster",
    "background",
    "srcset",
    "ping",
    "xlink:href",
}
HTMX_REQUESTS = {"hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"}
# Alpine's CSP build runs registered components only, but these would still inject markup or
# name code to run; htmx's hx-on runs code, hx-vals/hx-headers may hold `js:` expressions.
CODE_ATTRIBUTES = {"x-html", "x-init", "hx-vals", "hx-headers", "hx-include"}
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def _off_site(url: str) -> str | None:
    """Why `url` leaves the site or runs code, or None for a path on this site."""
    cleaned = _CONTROL.sub("", url).lower()
    if cleaned.startswith(("javascript:", "vbscript:", "data:")):
        return "a script URL"
    if cleaned.startswith(("mailto:", "#", "?")):
        return None
    if cleaned.startswith(("//", "/\\", "\\")) or re.match(r"[a-z][a-z0-9+.-]*:", cleaned):
        return "an off-site URL"
    return None


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        where = f"<{tag} {' '.join(values)}>"
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"a {tag} element: {where}")
        if tag == "script":
            self.in_script = True
            if not values.get("src", "").startswith("/static/"):
                self.problems.append(f"a script not from /static/: {where}")
        if tag == "meta" and "http-equiv" in values:
            self.problems.append(f"a meta http-equiv: {where}")
        if tag == "link" and not values.get("href", "").startswith("/static/"):
            self.problems.append(f"a link elsewhere: {where}")
        for name, value in values.items():
            if name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"an event handler {name}={value!r}: {where}")
            elif name == "style":
                self.problems.append(f"an inline style {value!r}: {where}")
            elif name in CODE_ATTRIBUTES:
                self.problems.append(f"a code attribute {name}={value!r}: {where}")
            elif name in URL_ATTRIBUTES and (why := _off_site(value)):
                self.problems.append(f"{why} in {name}={value!r}: {where}")
            elif name in HTMX_REQUESTS and (not value.startswith("/") or _off_site(value)):
                self.problems.append(f"htmx fetching elsewhere {name}={value!r}: {where}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.in_script = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.problems.append(f"inline script code: {data[:80]!r}")


def injected(html: str) -> list[str]:
    """What in the page no template of the site writes (empty: nothing)."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.problems


def leaks(html: str, values: Iterable[str]) -> list[str]:
    """The values with HTML-special characters that appear unescaped in the page. Only values
    of some length: a lone `"` appears in any page's own markup."""
    return [
        value
        for value in values
        if len(value) >= MIN_DISTINCT and SPECIAL.search(value) and value in html
    ]


def shown(html: str, value: str) -> bool:
    """Whether the page shows `value` as text (escaped as the templates escape it)."""
    return str(escape(value)) in html
