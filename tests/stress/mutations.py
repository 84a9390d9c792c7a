"""A blueprint's request sent again with one value, header, cookie or body altered at the byte
level, and what every answer must be.

A mutation puts one payload kind (non-ASCII text, invalid UTF-8, NUL and control characters,
CR/LF, 8 KB or 1 MB, percent-encoding twice) into one place (the last path segment, a query
parameter, a form field, an upload, a JSON field, a header or a cookie), in one way: replacing
the value, appended to it, or as a second value of the same name. A query value can also go
in raw, not percent-encoded, as a server that does not check the request target passes it on
(uvicorn refuses it with a 400). The body itself is also sent under the wrong content type, as
invalid UTF-8, or cut short.

Which mutations a blueprint gets is drawn from a seeded generator, spread so that each place
and each payload kind comes up: a run sends the same requests on the same data.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote_from_bytes

from tests.stress.crawler import BROWSER, FORM, HOST, HTML, Blueprint, Identity, Pair, Upload
from tests.stress.raw_http import Header, RawRequest, RawResponse

BOUNDARY = b"----bandstand-fuzz-7MA4YWxkTrZu0gW"
MEGABYTE = 1024 * 1024
# What `percent-twice` hides behind two layers of percent-encoding: a path climb, a NUL, a
# non-ASCII letter and markup.
HIDDEN = b"../\x00\xc3\xa9<b>'\""

PAYLOADS: dict[str, bytes] = {
    "latin-1": "Ñandú £ ÿ".encode("latin-1"),
    "utf-8": "Grüße, 漢字, Ωμέγα".encode(),
    "rtl-override": "\u202egnp.exe\u202c".encode(),
    "emoji": "🎺👩🏽‍💻🏳️‍🌈".encode(),
    "invalid-utf-8": b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xed\xa0\x80\xc0\xaf\xff",
    "nul": b"\x00",
    "controls": bytes([*range(1, 10), 11, 12, *range(14, 32), 127]),
    "crlf": b"\r\nSet-Cookie: fuzzed=1\r\n\r\n<b>",
    "8 KB": "é".encode() * 4096,
    "1 MB": "é".encode() * (MEGABYTE // 2),
    "percent-twice": HIDDEN,  # encoded at use, see `_payload`
}
# Applied once per blueprint, on one drawn place: a sample, not every value.
SAMPLED = frozenset({"1 MB"})
# Also sent raw (not percent-encoded) in a query: the kinds that are about non-ASCII bytes.
RAW_IN_QUERY = frozenset({"latin-1", "utf-8", "rtl-override", "emoji", "invalid-utf-8"})

Location = Literal["path", "query", "field", "upload", "json", "header", "cookie", "body"]
Mode = Literal["replace", "extend", "repeat", "raw"]
# Where a value goes through one layer of percent-encoding on the way.
PERCENT_ENCODED: frozenset[Location] = frozenset({"path", "query", "field"})

# Headers sent with a payload whether or not the request had them, and the value they have
# when a payload is appended to them. Host, Cookie and Content-Type come from the request.
HEADERS: dict[bytes, bytes] = {
    b"host": HOST,
    b"origin": b"http://localhost",
    b"referer": b"http://localhost/",
    b"cookie": b"",
    b"x-request-id": b"fuzz-request-1",
    b"x-forwarded-for": b"203.0.113.7, 10.0.0.1",
    b"x-forwarded-proto": b"https",
    b"x-forwarded-host": HOST,
    b"x-forwarded-port": b"443",
    b"x-forwarded-prefix": b"/site",
    b"forwarded": b"for=203.0.113.7;proto=https;host=localhost",
    b"x-real-ip": b"203.0.113.7",
    b"hx-request": b"true",
    b"hx-boosted": b"true",
    b"hx-target": b"results",
    b"hx-trigger": b"q",
    b"hx-trigger-name": b"q",
    b"hx-current-url": b"http://localhost/",
    b"hx-current-url-uri-autoencoded": b"true",
    b"hx-history-restore-request": b"true",
    b"hx-prompt": b"yes",
    b"hx-triggering-event": b'{"type": "click", "target": null}',
    b"accept-language": b"en-GB,en;q=0.9,fr;q=0.8",
    b"authorization": b"Bearer fuzz-token",
    b"accept": HTML,
    b"accept-encoding": b"gzip, deflate, br",
    b"user-agent": b"bandstand-fuzzer/1",
    b"if-none-match": b'"fuzz"',
    b"if-modified-since": b"Wed, 21 Oct 2015 07:28:00 GMT",
    b"range": b"bytes=0-99",
    b"x-site-csrf": b"",
    b"x-csrftoken": b"",
}
BODY_MUTATIONS = (
    "as JSON",
    "as a form",
    "multipart, no boundary",
    "multipart, another boundary",
    "as text",
    "declared UTF-16",
    "invalid UTF-8",
    "cut short",
)


@dataclass(frozen=True)
class Target:
    location: Location
    name: bytes = b""  # the parameter, field, header or cookie; a JSON field's key path
    index: int = 0  # which of the parameters or fields of that name


@dataclass(frozen=True)
class Mutation:
    target: Target
    kind: str  # a PAYLOADS key, or a BODY_MUTATIONS entry for the body
    mode: Mode = "replace"

    def describe(self) -> str:
        name = self.target.name.decode("latin-1")
        where = f"{self.target.location} {name}".strip()
        return f"{self.kind} ({self.mode}) in {where}"


@dataclass
class Draft:
    """A blueprint's request for one identity, before encoding: what a mutation edits."""

    method: str
    path: list[bytes]
    query: list[Pair]
    body: str
    fields: list[Pair]
    uploads: list[Upload]
    document: Any
    headers: list[Header]
    cookies: list[Pair]
    raw_query: bytes = b""  # appended to the query as it is
    json_text: bytes | None = None  # the JSON body, when a mutation wrote it
    body_bytes: bytes | None = None  # the whole body, when a mutation wrote it
    cookie_header: bytes | None = None  # the Cookie header, when a mutation wrote it

    @classmethod
    def of(cls, blueprint: Blueprint, identity: Identity) -> Draft:
        headers: list[Header] = [(b"host", HOST), (b"accept", HTML), *BROWSER]
        for name, value in blueprint.headers:
            headers = [pair for pair in headers if pair[0] != name]
            headers.append((name, value))
        content_type = {
            "form": FORM,
            "multipart": b"multipart/form-data; boundary=" + BOUNDARY,
            "json": b"application/json",
        }.get(blueprint.body)
        if content_type:
            headers.append((b"content-type", content_type))
        return cls(
            blueprint.method,
            list(blueprint.path),
            list(blueprint.query),
            blueprint.body,
            list(blueprint.fields),
            list(blueprint.uploads),
            copy.deepcopy(blueprint.json),
            headers,
            list(identity.cookies.items()),
        )

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)

    def set_header(self, name: bytes, value: bytes, *, add: bool = False) -> None:
        if not add:
            self.headers = [pair for pair in self.headers if pair[0] != name]
        self.headers.append((name, value))

    def encode(self) -> RawRequest:
        path = b"/" + b"/".join(quote_from_bytes(part, "").encode() for part in self.path)
        query = b"&".join(_form_pair(name, value) for name, value in self.query) + self.raw_query
        headers = list(self.headers)
        cookie = self.cookie_header
        if cookie is None and self.cookies:
            cookie = b"; ".join(name + b"=" + value for name, value in self.cookies)
        if cookie is not None:
            headers.append((b"cookie", cookie))
        return RawRequest(self.method, path, query, tuple(headers), self._body())

    def _body(self) -> bytes:
        if self.body_bytes is not None:
            return self.body_bytes
        if self.body == "form":
            return b"&".join(_form_pair(name, value) for name, value in self.fields)
        if self.body == "multipart":
            return _multipart(self.fields, self.uploads)
        if self.body == "json":
            return self.json_text if self.json_text is not None else _json(self.document)
        return b""


def _form_pair(name: bytes, value: bytes) -> bytes:
    return quote_from_bytes(name, "").encode() + b"=" + quote_from_bytes(value, "").encode()


def _multipart(fields: list[Pair], uploads: list[Upload]) -> bytes:
    parts = [
        b'Content-Disposition: form-data; name="' + _quoted(name) + b'"\r\n\r\n' + value
        for name, value in fields
    ]
    parts += [
        b'Content-Disposition: form-data; name="'
        + _quoted(upload.name)
        + b'"; filename="'
        + _quoted(upload.filename)
        + b'"\r\nContent-Type: '
        + upload.content_type
        + b"\r\n\r\n"
        + upload.content
        for upload in uploads
    ]
    return b"".join(b"--" + BOUNDARY + b"\r\n" + part + b"\r\n" for part in parts) + (
        b"--" + BOUNDARY + b"--\r\n"
    )


def _quoted(name: bytes) -> bytes:
    # As browsers write a name or file name in Content-Disposition.
    return name.replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")


def _json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def _json_string(value: bytes) -> bytes:
    """`value` as a JSON string: escaped if it is text, else its bytes as they are (invalid
    UTF-8 in a JSON body is what this sends)."""
    try:
        return json.dumps(value.decode("utf-8"), ensure_ascii=False).encode()
    except UnicodeDecodeError:
        return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


# Where a blueprint's values are


def targets(blueprint: Blueprint, identity: Identity) -> list[Target]:
    found: list[Target] = []
    if any(blueprint.path):
        found.append(Target("path"))
    found += _named("query", blueprint.query)
    found += _named("field", blueprint.fields)
    for upload in blueprint.uploads:
        found += [Target("upload", upload.name, 0), Target("upload", upload.name, 1)]
    found += [Target("json", name) for name in _leaves(blueprint.json)]
    headers = set(HEADERS)
    if blueprint.body != "none":
        headers.add(b"content-type")
    found += [Target("header", name) for name in sorted(headers)]
    found += [Target("cookie", name) for name in identity.cookies]
    return found


def _named(location: Location, pairs: tuple[Pair, ...]) -> list[Target]:
    seen: dict[bytes, int] = {}
    found = []
    for name, _ in pairs:
        found.append(Target(location, name, seen.get(name, 0)))
        seen[name] = seen.get(name, 0) + 1
    return found


def _leaves(document: Any, prefix: bytes = b"") -> Iterator[bytes]:
    """The key paths of a JSON document's values ("items.0.name")."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _leaves(value, prefix + key.encode() + b".")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _leaves(value, prefix + str(index).encode() + b".")
    elif prefix:
        yield prefix[:-1]


def choose(blueprint: Blueprint, identity: Identity, budget: int, seed: int) -> list[Mutation]:
    """`budget` mutations of the blueprint's values, one 1 MB one, and every body mutation.

    Places and (payload kind, mode) pairs are shuffled, then dealt in turn: with a budget of at
    least the number of places each place gets a payload, and the pairs are spread over them.
    """
    rng = random.Random(f"{seed}:{identity.name}:{blueprint.key()}")
    places = targets(blueprint, identity)
    rng.shuffle(places)
    pairs: list[tuple[str, Mode]] = [
        (kind, mode)
        for kind in PAYLOADS
        if kind not in SAMPLED
        for mode in ("replace", "extend", "repeat")
    ]
    rng.shuffle(pairs)
    chosen = []
    for turn in range(budget):
        place = places[turn % len(places)]
        kind, mode = pairs[(turn + turn // len(places)) % len(pairs)]
        if place.location == "query" and kind in RAW_IN_QUERY and rng.random() < 0.5:
            mode = "raw"
        chosen.append(Mutation(place, kind, mode))
    for kind in SAMPLED:
        chosen.append(Mutation(rng.choice(places), kind, rng.choice(["replace", "extend"])))
    if blueprint.body != "none":
        chosen += [Mutation(Target("body"), kind) for kind in BODY_MUTATIONS]
    else:
        chosen.append(Mutation(Target("body"), "as JSON"))
    return chosen


def every_payload(target: Target) -> list[Mutation]:
    """Every payload kind, in every way, in one place: no sampling."""
    modes: list[Mode] = ["replace", "extend", "repeat"]
    found = [Mutation(target, kind, mode) for kind in PAYLOADS for mode in modes]
    if target.location == "query":
        found += [Mutation(target, kind, "raw") for kind in sorted(RAW_IN_QUERY)]
    return found


# Applying a mutation


def apply(mutation: Mutation, blueprint: Blueprint, identity: Identity) -> RawRequest:
    draft = Draft.of(blueprint, identity)
    target = mutation.target
    if target.location == "body":
        _alter_body(draft, mutation.kind)
    else:
        EDITS[target.location](draft, mutation)
    return draft.encode()


def _payload(mutation: Mutation, original: bytes) -> bytes:
    payload = PAYLOADS[mutation.kind]
    if mutation.kind == "percent-twice":
        layers = 1 if mutation.target.location in PERCENT_ENCODED else 2
        payload = original + payload
        for _ in range(layers):
            payload = quote_from_bytes(payload, "").encode()
        return payload
    return original + payload if mutation.mode == "extend" else payload


def _edit_pairs(pairs: list[Pair], mutation: Mutation) -> list[Pair]:
    target = mutation.target
    edited: list[Pair] = []
    seen = 0
    for name, value in pairs:
        if name == target.name:
            seen += 1
            if seen - 1 == target.index:
                new = _payload(mutation, value)
                if mutation.mode == "repeat":
                    edited += [(name, value), (name, new)]
                    continue
                edited.append((name, new))
                continue
        edited.append((name, value))
    return edited


def _edit_path(draft: Draft, mutation: Mutation) -> None:
    last = max(index for index, part in enumerate(draft.path) if part)
    new = _payload(mutation, draft.path[last])
    if mutation.mode == "repeat":
        draft.path.insert(last + 1, new)
    else:
        draft.path[last] = new


def _edit_query(draft: Draft, mutation: Mutation) -> None:
    if mutation.mode != "raw":
        draft.query = _edit_pairs(draft.query, mutation)
        return
    # The value's bytes as they are, after the others.
    name = mutation.target.name
    draft.query = [pair for pair in draft.query if pair[0] != name]
    draft.raw_query = (b"&" if draft.query else b"") + name + b"=" + PAYLOADS[mutation.kind]


def _edit_fields(draft: Draft, mutation: Mutation) -> None:
    draft.fields = _edit_pairs(draft.fields, mutation)


def _edit_upload(draft: Draft, mutation: Mutation) -> None:
    """Index 0 is the file's name, 1 its content."""
    edited = []
    for upload in draft.uploads:
        if upload.name != mutation.target.name:
            edited.append(upload)
        elif mutation.target.index == 0:
            edited.append(
                Upload(
                    upload.name,
                    _payload(mutation, upload.filename),
                    upload.content_type,
                    upload.content,
                )
            )
        else:
            edited.append(
                Upload(
                    upload.name,
                    upload.filename,
                    upload.content_type,
                    _payload(mutation, upload.content),
                )
            )
        if mutation.mode == "repeat" and upload.name == mutation.target.name:
            edited.insert(-1, upload)
    draft.uploads = edited


MARKER = "\ue000fuzz-marker\ue000"


def _edit_json(draft: Draft, mutation: Mutation) -> None:
    keys = mutation.target.name.decode().split(".")
    holder = draft.document
    for key in keys[:-1]:
        holder = holder[int(key)] if isinstance(holder, list) else holder[key]
    last: Any = int(keys[-1]) if isinstance(holder, list) else keys[-1]
    original = holder[last]
    text = original if isinstance(original, str) else json.dumps(original)
    value = _json_string(_payload(mutation, text.encode()))
    if mutation.mode == "repeat" and isinstance(draft.document, dict) and len(keys) == 1:
        # The same key again, last: a parser that keeps the last value sees the payload.
        rendered = _json(draft.document)
        draft.json_text = (
            rendered[:-1] + b", " + _json_string(keys[0].encode()) + b": " + value + b"}"
        )
        return
    holder[last] = MARKER
    draft.json_text = _json(draft.document).replace(_json_string(MARKER.encode()), value)


def _edit_header(draft: Draft, mutation: Mutation) -> None:
    name = mutation.target.name
    if name == b"cookie":
        current = b"; ".join(key + b"=" + value for key, value in draft.cookies)
    else:
        current = draft.header(name) or HEADERS.get(name, b"")
    new = _payload(mutation, current)
    if name == b"cookie":
        draft.cookie_header = current + b"; " + new if mutation.mode == "repeat" else new
        return
    if mutation.mode == "repeat":
        if draft.header(name) is None:
            draft.set_header(name, current)
        draft.set_header(name, new, add=True)
    else:
        draft.set_header(name, new)


def _edit_cookie(draft: Draft, mutation: Mutation) -> None:
    draft.cookies = _edit_pairs(draft.cookies, mutation)


EDITS: dict[Location, Callable[[Draft, Mutation], None]] = {
    "path": _edit_path,
    "query": _edit_query,
    "field": _edit_fields,
    "upload": _edit_upload,
    "json": _edit_json,
    "header": _edit_header,
    "cookie": _edit_cookie,
}


def _alter_body(draft: Draft, kind: str) -> None:
    body = draft.encode().body
    if kind == "as JSON":
        draft.set_header(b"content-type", b"application/json")
        if draft.body == "none":
            draft.body_bytes = b'{"fuzz": "\xc3\xa9"}'
    elif kind == "as a form":
        draft.set_header(b"content-type", FORM)
    elif kind == "multipart, no boundary":
        draft.set_header(b"content-type", b"multipart/form-data")
    elif kind == "multipart, another boundary":
        draft.set_header(b"content-type", b"multipart/form-data; boundary=not-the-one")
    elif kind == "as text":
        draft.set_header(b"content-type", b"text/plain; charset=utf-8")
    elif kind == "declared UTF-16":
        current = draft.header(b"content-type") or b""
        draft.set_header(b"content-type", current + b"; charset=utf-16")
    elif kind == "invalid UTF-8":
        middle = len(body) // 2
        draft.body_bytes = body[:middle] + PAYLOADS["invalid-utf-8"] + body[middle:]
    elif kind == "cut short":
        draft.body_bytes = body[: len(body) // 2]
    else:
        raise ValueError(kind)


# What every answer must be


HEADER_BREAKS = re.compile(rb"[\r\n\x00]")
# What browsers drop from a URL before reading it: leading C0 controls and spaces, and every
# tab and newline inside it.
URL_NOISE = re.compile(rb"[\t\n\r]")
SCHEME = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*:")
SAME_ORIGIN = re.compile(rb"https?://(localhost|127\.0\.0\.1)([:/?#]|$)", re.IGNORECASE)


def answer_problems(response: RawResponse) -> list[str]:
    """What is wrong with the answer, whatever was asked: a 5xx (or no answer), a refusal
    without a message, a header broken by what the request carried, a redirect off the site,
    a traceback in the page."""
    problems = []
    if response.failure:
        problems.append(response.failure)
    elif response.status >= 500:
        problems.append(f"{response.status}: {response.body[:200]!r}")
    elif 400 <= response.status < 500 and not refusal_message(response):
        problems.append(f"{response.status} without a message: {response.body[:200]!r}")
    for name, value in response.headers:
        if HEADER_BREAKS.search(name) or HEADER_BREAKS.search(value):
            problems.append(f"response header broken by CR, LF or NUL: {name!r}: {value[:200]!r}")
    location = response.header(b"location")
    if 300 <= response.status < 400 and location is not None and not on_this_site(location):
        problems.append(f"redirect off the site: {location[:200]!r}")
    if b"Traceback (most recent call last)" in response.body:
        problems.append("a traceback in the answer")
    return problems


def refusal_message(response: RawResponse) -> str:
    """The words a refusal gives its reader: a JSON object's text (Litestar's `detail`,
    Piccolo Admin's `error` or `db_error`, FastAPI's list of problems), or the text of a page or
    a plain answer; empty when it gives none."""
    if response.content_type.startswith("application/json"):
        try:
            body = json.loads(response.body)
        except ValueError:
            return ""
        values = body.values() if isinstance(body, dict) else ()
        return " ".join(str(value) for value in values if isinstance(value, str | list) and value)
    text = re.sub(rb"<[^>]*>", b" ", response.body).decode("utf-8", "replace")
    return " ".join(text.split())


def on_this_site(location: bytes) -> bool:
    """Whether a browser following `location` stays on this site."""
    cleaned = URL_NOISE.sub(b"", location).lstrip(bytes(range(33)))
    if cleaned.startswith((b"//", b"/\\", b"\\")):
        return False
    if SCHEME.match(cleaned):
        return SAME_ORIGIN.match(cleaned) is not None
    return True
