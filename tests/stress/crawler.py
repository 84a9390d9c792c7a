"""What a visitor can send the site, found by visiting it: every link of every page, every form
(hidden fields included), every htmx request, and every operation of the OpenAPI schema the
site serves, each as a `Blueprint` of a request that the fuzzer sends again, altered.

Nothing here names a feature: a site with other features, or none, is crawled the same way.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urljoin, urlsplit

from litestar.types import ASGIApp

from tests.stress.raw_http import Header, RawRequest, RawResponse, exchange

ORIGIN = "http://localhost"
HOST = b"localhost"
OPENAPI = "/schema/openapi.json"
ADMIN = "/admin/"
# Where a crawl starts: the home page, and the framework's pages nothing may link to.
SEEDS = ("/", "/login", "/signup", "/healthz", "/readyz", "/schema", OPENAPI, ADMIN)
HTML = b"text/html,application/xhtml+xml,*/*;q=0.8"
JSON = b"application/json"
FORM = b"application/x-www-form-urlencoded"
BROWSER = (
    (b"accept-language", b"en-GB,en;q=0.9"),
    (b"user-agent", b"bandstand-fuzzer/1 (stress suite)"),
)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A crawl's bounds: pages fetched in all, and per path shape (/products/1, /products/2, …).
MAX_PAGES = 150
MAX_PER_SHAPE = 3
ID = re.compile(r"^(\d+|\{[^}]+\})$")
PARAMETER = re.compile(r"^\{[^}]+\}$")
# A one-pixel PNG: what a file input is given.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101003718dd8b0000000049454e44ae426082"
)

BodyKind = Literal["none", "form", "multipart", "json"]
Pair = tuple[bytes, bytes]


@dataclass(frozen=True)
class Upload:
    name: bytes
    filename: bytes
    content_type: bytes
    content: bytes


@dataclass(frozen=True)
class Blueprint:
    """A request the site itself leads to: what the fuzzer alters, one value at a time. The
    session and CSRF cookies are not in it: they are the identity's, current when it is sent."""

    method: str
    path: tuple[bytes, ...]  # the segments, decoded
    query: tuple[Pair, ...] = ()
    body: BodyKind = "none"
    fields: tuple[Pair, ...] = ()
    uploads: tuple[Upload, ...] = ()
    json: Any = None
    headers: tuple[Header, ...] = ()
    found: str = ""  # where: "link on /", "form on /login", "OpenAPI"

    @property
    def endpoint(self) -> str:
        """The method and the route, ids left out: "GET /products/{}"."""
        return f"{self.method} {shape(self.path)}"

    @property
    def writes(self) -> bool:
        return self.method in WRITES

    def key(self) -> tuple[object, ...]:
        """Alike blueprints (another id, other values) have the same key."""
        return (
            self.endpoint,
            tuple(sorted({name for name, _ in self.query})),
            self.body,
            tuple(sorted({name for name, _ in self.fields})),
            tuple(sorted(self.json)) if isinstance(self.json, dict) else None,
            tuple(sorted(name for name, _ in self.headers if name.startswith(b"hx-"))),
        )


def shape(path: Iterable[bytes]) -> str:
    """A path with its ids (numbers, `{parameters}`) as `{}`."""
    parts = [part.decode("latin-1") for part in path]
    return "/" + "/".join("{}" if ID.match(part) else part for part in parts)


def segments(path: str) -> tuple[bytes, ...]:
    """The decoded segments of a path ("/a/b/" keeps its trailing empty one)."""
    return tuple(unquote_to_bytes(part) for part in path.split("/")[1:])


@dataclass
class Identity:
    """Who sends the requests: a name, and the cookies a browser would hold."""

    name: str
    username: str | None = None
    cookies: dict[bytes, bytes] = field(default_factory=dict)
    csrf: bytes = b""  # the site's token, from a page's meta tag

    def cookie_header(self) -> bytes:
        return b"; ".join(name + b"=" + value for name, value in self.cookies.items())

    def keep_cookies(self, response: RawResponse) -> None:
        for name, value in response.headers:
            if name.lower() != b"set-cookie":
                continue
            pair, _, attributes = value.partition(b";")
            key, _, cookie = pair.strip().partition(b"=")
            expired = re.search(rb"max-age=0\b", attributes, re.IGNORECASE)
            if expired or not cookie:
                self.cookies.pop(key, None)
            else:
                self.cookies[key] = cookie


async def get(
    app: ASGIApp, identity: Identity, target: str, headers: tuple[Header, ...] = ()
) -> RawResponse:
    """A browser's GET of `target` (a path and query): the identity's cookies sent and kept."""
    path, _, query = target.partition("?")
    request = RawRequest(
        "GET",
        quote(path, safe="/%:@!$&'()*+,;=~").encode("ascii"),
        query.encode(),
        (
            (b"host", HOST),
            (b"accept", HTML),
            *BROWSER,
            *headers,
            *([(b"cookie", identity.cookie_header())] if identity.cookies else []),
        ),
    )
    response = await exchange(app, request)
    identity.keep_cookies(response)
    return response


async def log_in(app: ASGIApp, identity: Identity, password: str) -> None:
    """Through the login form, as a browser: the session cookie ends up in `identity`."""
    assert identity.username
    page = PageParser.parse(ORIGIN + "/login", (await get(app, identity, "/login")).body)
    form = next(form for form in page.forms if form.action.endswith("/login"))
    values = {**dict(form.fields), b"username": identity.username.encode()}
    values[b"password"] = password.encode()
    body = b"&".join(quote(k).encode() + b"=" + quote(v).encode() for k, v in values.items())
    request = RawRequest(
        "POST",
        b"/login",
        headers=(
            (b"host", HOST),
            (b"content-type", FORM),
            (b"origin", ORIGIN.encode()),
            (b"cookie", identity.cookie_header()),
        ),
        body=body,
    )
    response = await exchange(app, request)
    assert response.status == 303, (response.status, response.body[:300])
    identity.keep_cookies(response)
    assert b"id" in identity.cookies, response.headers


# Pages


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    htmx: bool
    fields: list[Pair] = field(default_factory=list)
    uploads: list[bytes] = field(default_factory=list)
    # A select's options, a textarea's text: filled when the element ends.
    _select: tuple[bytes, list[tuple[bytes, bool]]] | None = None
    _textarea: tuple[bytes, list[str]] | None = None


class PageParser(HTMLParser):
    """The links, htmx requests and forms of one HTML page, and its CSRF meta tag."""

    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.links: list[tuple[str, bool]] = []  # (url, requested by htmx)
        self.forms: list[Form] = []
        self.csrf: str | None = None
        self._form: Form | None = None
        self._radios: set[bytes] = set()

    @classmethod
    def parse(cls, url: str, html: bytes) -> PageParser:
        parser = cls(url)
        parser.feed(html.decode("utf-8", "replace"))
        parser.close()
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "meta" and found.get("name") == "csrf-token":
            self.csrf = found.get("content")
        for name in ("href", "src"):
            if found.get(name) and tag in {"a", "link", "script", "img", "iframe"}:
                self.links.append((urljoin(self.url, found[name]), False))
        if tag != "form" and found.get("hx-get"):
            self.links.append((urljoin(self.url, found["hx-get"]), True))
        if tag == "form":
            self._start_form(found)
        elif self._form is not None:
            self._form_element(self._form, tag, found)

    def _start_form(self, found: dict[str, str]) -> None:
        hx_action = found.get("hx-get") or found.get("hx-post")
        method = "POST" if found.get("hx-post") else found.get("method", "get").upper()
        self._form = Form(
            action=urljoin(self.url, hx_action or found.get("action") or self.url),
            method=method if method in {"GET", "POST"} else "GET",
            enctype=found.get("enctype", "application/x-www-form-urlencoded").lower(),
            htmx=bool(hx_action),
        )
        self._radios = set()

    def _form_element(self, form: Form, tag: str, found: dict[str, str]) -> None:
        name = found.get("name", "").encode()
        if tag == "input" and name:
            kind = found.get("type", "text").lower()
            if kind == "file":
                form.uploads.append(name)
            elif kind == "checkbox":
                if "checked" in found:
                    form.fields.append((name, found.get("value", "on").encode()))
            elif kind == "radio":
                # The checked one of a group, else its first (what the person would pick).
                value = found.get("value", "on").encode()
                if "checked" in found:
                    form.fields = [pair for pair in form.fields if pair[0] != name]
                    form.fields.append((name, value))
                elif name not in self._radios:
                    form.fields.append((name, value))
                self._radios.add(name)
            elif kind in {"submit", "image", "button", "reset"}:
                if kind == "submit" and not any(pair[0] == name for pair in form.fields):
                    form.fields.append((name, found.get("value", "").encode()))
            else:
                form.fields.append((name, fill(kind, found)))
        elif tag == "select" and name:
            form._select = (name, [])
        elif tag == "option" and form._select is not None:
            form._select[1].append((found.get("value", "").encode(), "selected" in found))
        elif tag == "textarea" and name:
            form._textarea = (name, [])
        elif tag == "button" and name and found.get("type", "submit") == "submit":
            form.fields.append((name, found.get("value", "").encode()))

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._form._textarea is not None:
            self._form._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        form = self._form
        if form is None:
            return
        if tag == "select" and form._select is not None:
            name, options = form._select
            chosen = [value for value, selected in options if selected]
            values = [value for value, _ in options if value]
            if chosen or values or options:
                form.fields.append((name, (chosen or values or [b""])[0]))
            form._select = None
        elif tag == "textarea" and form._textarea is not None:
            name, text = form._textarea
            form.fields.append((name, "".join(text).strip().encode() or b"Fuzz text."))
            form._textarea = None
        elif tag == "form":
            self.forms.append(form)
            self._form = None


def fill(kind: str, attributes: dict[str, str]) -> bytes:
    """What a person would type in an input of this kind; its own value if it has one."""
    if attributes.get("value"):
        return attributes["value"].encode()
    future = datetime.date.today() + datetime.timedelta(days=30)
    typed = {
        "email": "fuzzer@example.com",
        "password": "not the password 1",
        "number": attributes.get("min") or "1",
        "range": attributes.get("min") or "1",
        "date": future.isoformat(),
        "datetime-local": f"{future.isoformat()}T10:00",
        "time": "10:00",
        "month": future.strftime("%Y-%m"),
        "url": "https://example.com/",
        "tel": "+44 20 7946 0000",
        "color": "#336699",
    }
    text = typed.get(kind, "fuzz")
    if kind not in typed and attributes.get("minlength", "").isdigit():
        text = text.ljust(int(attributes["minlength"]), "z")
    return text.encode()


# The crawl


class Crawler:
    """Visits pages as one identity, within the bounds, and keeps what they lead to."""

    def __init__(self, app: ASGIApp, identity: Identity) -> None:
        self.app, self.identity = app, identity
        self.broken: list[str] = []  # links the site gave that failed
        self.requests = 0
        self._seen: set[str] = set()
        self._per_shape: Counter[str] = Counter()
        self._keys: set[tuple[object, ...]] = set()

    async def crawl(self) -> list[Blueprint]:
        """Everything reachable from the seeds, and the OpenAPI schema's operations."""
        found = await self.visit([(seed, False, "seed") for seed in SEEDS])
        response = await get(self.app, self.identity, OPENAPI, ((b"accept", JSON),))
        self.requests += 1
        if response.status == 200:
            found += self._keep(await _from_openapi(self, json.loads(response.body)))
        found += self._keep(await _from_admin(self))
        return found

    async def follow(self, location: bytes, source: str) -> list[Blueprint]:
        """The blueprints of a page a redirect led to, and of the pages it links, if new."""
        local = _local(location.decode("latin-1"))
        return [] if local is None else await self.visit([(local, False, source)])

    async def visit(self, queue: list[tuple[str, bool, str]]) -> list[Blueprint]:
        found: list[Blueprint] = []
        while queue and sum(self._per_shape.values()) < MAX_PAGES:
            target, htmx, source = queue.pop(0)
            path, _, query = target.partition("?")
            if target in self._seen or self._per_shape[shape(segments(path))] >= MAX_PER_SHAPE:
                continue
            self._seen.add(target)
            self._per_shape[shape(segments(path))] += 1
            headers = HTMX if htmx else ()
            response = await get(self.app, self.identity, target, headers)
            self.requests += 1
            if response.status >= 400 and source != "seed":
                self.broken.append(f"{target} (from {source}): {response.status}")
            pairs = tuple((k.encode(), v.encode()) for k, v in parse_qsl(query, True))
            link = Blueprint("GET", segments(path), pairs, headers=headers, found=source)
            found += self._keep([link])
            if not response.content_type.startswith("text/html"):
                continue
            page = PageParser.parse(ORIGIN + target, response.body)
            if page.csrf:
                self.identity.csrf = page.csrf.encode()
            for url, by_htmx in page.links:
                local = _local(url)
                if local is not None and local not in self._seen:
                    queue.append((local, by_htmx, f"link on {path}"))
            found += self._keep(
                [blueprint for form in page.forms if (blueprint := _from_form(form, path))]
            )
        return found

    def _keep(self, blueprints: list[Blueprint]) -> list[Blueprint]:
        """The blueprints not alike any kept before, now kept too."""
        new = []
        for blueprint in blueprints:
            if blueprint.key() not in self._keys:
                self._keys.add(blueprint.key())
                new.append(blueprint)
        return new


HTMX = ((b"hx-request", b"true"), (b"hx-current-url", ORIGIN.encode() + b"/"))


def _local(url: str) -> str | None:
    """The path and query of a link to this site, None for any other (or a fragment)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", ""} or parts.netloc not in {"localhost", ""}:
        return None
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _from_form(form: Form, page: str) -> Blueprint | None:
    action = _local(form.action)
    if action is None:
        return None
    path, _, query = action.partition("?")
    headers: tuple[Header, ...] = HTMX if form.htmx else ()
    found = f"form on {page}"
    if form.method == "GET":
        fields = tuple(form.fields)
        return Blueprint("GET", segments(path), fields, headers=headers, found=found)
    multipart = form.enctype == "multipart/form-data" or bool(form.uploads)
    uploads = tuple(Upload(name, b"pixel.png", b"image/png", PIXEL) for name in form.uploads)
    return Blueprint(
        "POST",
        segments(path),
        tuple((k.encode(), v.encode()) for k, v in parse_qsl(query, True)),
        body="multipart" if multipart else "form",
        fields=tuple(form.fields),
        uploads=uploads,
        headers=((b"origin", ORIGIN.encode()), (b"referer", f"{ORIGIN}{page}".encode()), *headers),
        found=found,
    )


# The OpenAPI schema


async def _from_openapi(crawler: Crawler, schema: dict[str, Any]) -> list[Blueprint]:
    """One blueprint per operation: its parameters and JSON body made from the schema, the ids
    in its path taken from what the API's own lists returned."""
    ids = await _ids_by_collection(crawler, schema)
    blueprints = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            blueprints.append(
                _operation(schema, path, method.upper(), operation, ids, crawler.identity)
            )
    return blueprints


async def _ids_by_collection(crawler: Crawler, schema: dict[str, Any]) -> dict[str, list[int]]:
    """The `id`s each parameterless GET operation listed, by its path."""
    ids: dict[str, list[int]] = {}
    for path, operations in schema.get("paths", {}).items():
        if "get" not in operations or "{" in path:
            continue
        response = await get(crawler.app, crawler.identity, path, ((b"accept", JSON),))
        crawler.requests += 1
        if response.status == 200 and response.content_type.startswith("application/json"):
            ids[path] = sorted(set(_values_named("id", json.loads(response.body))))[:5]
    return ids


def _values_named(key: str, document: Any) -> Iterator[int]:
    if isinstance(document, dict):
        for name, value in document.items():
            if name == key and isinstance(value, int) and not isinstance(value, bool):
                yield value
            else:
                yield from _values_named(key, value)
    elif isinstance(document, list):
        for item in document:
            yield from _values_named(key, item)


def _operation(
    schema: dict[str, Any],
    path: str,
    method: str,
    operation: dict[str, Any],
    ids: dict[str, list[int]],
    identity: Identity,
) -> Blueprint:
    parameters = [_resolve(schema, item) for item in operation.get("parameters", [])]
    in_path = {item["name"]: item for item in parameters if item.get("in") == "path"}
    collection = max((key for key in ids if path.startswith(key + "/")), key=len, default="")
    path_ids = ids.get(collection) or [1]
    filled = []
    for part in path.split("/")[1:]:
        name = part[1:-1] if PARAMETER.match(part) else None
        if name is None:
            filled.append(part.encode())
        elif _schema_type(schema, in_path.get(name, {}).get("schema", {})) == "integer":
            filled.append(str(path_ids[0]).encode())
        else:
            filled.append(_text(sample(schema, in_path.get(name, {}).get("schema", {}))))
    query = tuple(
        (item["name"].encode(), _text(sample(schema, item.get("schema", {}))))
        for item in parameters
        if item.get("in") == "query"
    )
    headers: list[Header] = [
        (item["name"].lower().encode(), _text(sample(schema, item.get("schema", {}))))
        for item in parameters
        if item.get("in") == "header"
    ]
    headers.append((b"accept", JSON))
    content = operation.get("requestBody", {}).get("content", {})
    body: BodyKind = "none"
    document: Any = None
    if "application/json" in content:
        body, document = "json", sample(schema, content["application/json"].get("schema", {}))
    if method in WRITES:
        headers += [(b"origin", ORIGIN.encode()), (b"x-site-csrf", identity.csrf)]
    return Blueprint(
        method,
        tuple(filled),
        query,
        body=body,
        json=document,
        headers=tuple(headers),
        found="OpenAPI",
    )


# Piccolo Admin


async def _from_admin(crawler: Crawler) -> list[Blueprint]:
    """Piccolo Admin's JSON API, found as its single-page app finds it (the admin is part of
    every site): its tables, then each table's schema, rows and filters. Without access (401),
    what is left are the requests that get the refusal."""
    identity = crawler.identity
    accept = ((b"accept", JSON),)
    writes = (
        *accept,
        (b"origin", ORIGIN.encode()),
        (b"x-csrftoken", identity.cookies.get(b"csrftoken", b"")),
    )
    api = ADMIN + "api/tables/"

    def blueprint(method: str, target: str, body: Any = None) -> Blueprint:
        path, _, query = target.partition("?")
        return Blueprint(
            method,
            segments(path),
            tuple((k.encode(), v.encode()) for k, v in parse_qsl(query, True)),
            body="none" if body is None else "json",
            json=body,
            headers=writes if method in WRITES else accept,
            found="Piccolo Admin's API",
        )

    async def read(target: str) -> Any:
        response = await get(crawler.app, identity, target, accept)
        crawler.requests += 1
        return json.loads(response.body) if response.status == 200 else None

    login = {"username": "fuzz", "password": "not the password 1"}
    found = [
        blueprint("GET", api),
        blueprint("GET", ADMIN + "api/user/"),
        blueprint("GET", ADMIN + "api/forms/"),
        blueprint("GET", ADMIN + "public/meta/"),
        blueprint("POST", ADMIN + "public/login/", login),
        blueprint("POST", ADMIN + "public/logout/", {}),
    ]
    for table in await read(api) or ():
        schema = await read(f"{api}{table}/schema/")
        if not isinstance(schema, dict):
            continue
        row = sample(schema, schema)
        extra = schema.get("extra", {})
        primary_key = extra.get("primary_key_name", "id")
        filters = [
            (name, _text(sample(schema, schema.get("properties", {}).get(name, {}))).decode())
            for name in extra.get("visible_filter_names", [])
        ]
        listing = "&".join(
            f"{quote(name)}={quote(value)}"
            for name, value in [
                *filters,
                ("__order", f"-{primary_key}"),
                ("__page", "1"),
                ("__page_size", "15"),
                ("__visible_fields", primary_key),
                ("__readable", "true"),
            ]
        )
        found += [
            blueprint("GET", f"{api}{table}/?{listing}"),
            blueprint("GET", f"{api}{table}/schema/"),
            blueprint("GET", f"{api}{table}/ids/?search=fuzz&limit=5"),
            blueprint("GET", f"{api}{table}/count/"),
            blueprint("POST", f"{api}{table}/", row),
        ]
        rows = (await read(f"{api}{table}/?__page_size=20") or {}).get("rows", [])
        # Not the identity's own row (its account): the fuzzer is still to log in with it.
        others = [item for item in rows if str(identity.username) not in map(str, item.values())]
        if others:
            key = others[-1].get(primary_key)
            found += [
                blueprint("GET", f"{api}{table}/{key}/"),
                blueprint("PATCH", f"{api}{table}/{key}/", row),
                blueprint("DELETE", f"{api}{table}/{key}/"),
            ]
    return found


# JSON schemas


def _resolve(document: dict[str, Any], node: Any) -> Any:
    """`node`, or what its `$ref` (and theirs) point at in `document`."""
    for _ in range(32):
        if not (isinstance(node, dict) and "$ref" in node):
            break
        target: Any = document
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _choices(document: dict[str, Any], node: dict[str, Any]) -> list[Any]:
    options = [_resolve(document, option) for option in node.get("oneOf", node.get("anyOf", []))]
    return [option for option in options if option.get("type") != "null"]


def _schema_type(document: dict[str, Any], node: Any) -> str | None:
    node = _resolve(document, node)
    if not isinstance(node, dict):
        return None
    choices = _choices(document, node)
    if choices:
        return _schema_type(document, choices[0])
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), None)
    return kind if isinstance(kind, str) else None


def sample(document: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """A value the JSON schema `node` accepts, as a client would send it: its example when it
    has one, else made from its type, format and bounds."""
    node = _resolve(document, node)
    if not isinstance(node, dict) or depth > 8:
        return None
    for key in ("const", "example", "default"):
        if node.get(key) is not None:
            return node[key]
    if node.get("examples"):
        examples = node["examples"]
        return examples[0] if isinstance(examples, list) else next(iter(examples.values()))
    if node.get("enum"):
        return node["enum"][0]
    choices = _choices(document, node)
    if choices:
        return sample(document, choices[0], depth + 1)
    if node.get("allOf"):
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            value = sample(document, part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = _schema_type(document, node)
    if kind == "object" or "properties" in node:
        return {
            name: sample(document, item, depth + 1)
            for name, item in node.get("properties", {}).items()
        }
    if kind == "array":
        return [sample(document, node.get("items", {}), depth + 1)] * max(
            1, int(node.get("minItems", 1))
        )
    if kind == "integer":
        return _number(node, 1)
    if kind == "number":
        return _number(node, 1.5)
    if kind == "boolean":
        return True
    if kind == "string":
        return _string(node)
    return None


def _number(node: dict[str, Any], usual: float) -> Any:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    value = usual if low is None else low + (1 if "exclusiveMinimum" in node else 0)
    if high is not None and value > high:
        value = high
    return value


def _string(node: dict[str, Any]) -> str:
    future = datetime.date.today() + datetime.timedelta(days=30)
    by_format = {
        "date": future.isoformat(),
        "date-time": f"{future.isoformat()}T10:00:00Z",
        "time": "10:00:00",
        "email": "fuzzer@example.com",
        "uri": "https://example.com/",
        "url": "https://example.com/",
        "uuid": "00000000-0000-4000-8000-000000000000",
    }
    text = by_format.get(node.get("format", ""), "fuzz")
    text = text.ljust(int(node.get("minLength", 0)), "z")
    return text[: int(node["maxLength"])] if "maxLength" in node else text


def _text(value: Any) -> bytes:
    """A sampled value as it goes in a path, a query or a header."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    return b"" if value is None else str(value).encode()
