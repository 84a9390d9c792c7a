"""Hostile request bodies: malformed JSON, wrong types, unknown and missing fields on every JSON
write in the OpenAPI schema (400 with a message, nothing written); and bodies larger than the
app accepts, sent to a real server (the sample site), refused with 413 before they have been
read whole: every kind of write the framework and the sample site have, and the admin's."""

from __future__ import annotations

import itertools
import select
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import pytest
from litestar import Litestar
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.tables import LoginThrottle
from bandstand.testing.accounts import CSRF_FIELD, People, log_in_for_api
from tests.stress.figures import Figures
from tests.stress.hostile import Counter, fingerprint
from tests.stress.traffic import SUPERUSER, SUPERUSER_PASSWORD
from tests.support.tables import Band

pytestmark = pytest.mark.engine_independent

PART = "hostile input: bodies"
MALFORMED: dict[str, bytes] = {
    "empty": b"",
    "truncated object": b'{"name": "x"',
    "missing value": b'{"name":}',
    "trailing comma": b'{"name": "x",}',
    "single quotes": b"{'name': 'x'}",
    "bare word": b"nul",
    "NaN": b'{"name": NaN}',
    "number too large": b"1e999999",
    "a string": b'"just text"',
    "null": b"null",
    "an array": b"[]",
    "a number": b"12",
    "byte-order mark": b'\xef\xbb\xbf{"name": "x"}',
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
    "lone surrogate": b'{"name": "\\ud800"}',
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "object nested 50,000 deep": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "integer of 100,000 digits": b'{"name": ' + b"9" * 100_000 + b"}",
}
UNKNOWN_FIELDS: dict[str, Any] = {
    "zzz_unknown": 1,
    "id": 999,
    "admin": True,
    "owner": 1,
    "__proto__": {"admin": True},
    "constructor": {"prototype": {}},
}
# Litestar converts what it decodes non-strictly, so "12" is taken for 12 (as in a query
# string): lenient, not wrong. What no conversion makes the declared type is refused.
WRONG: dict[str, list[Any]] = {
    "string": [123, 1.5, True, None, [], {}],
    "integer": ["twelve", 1.5, True, None, [], {}, 2**70, -(2**70)],
    "number": ["twelve", True, None, [], {}],
    "boolean": ["maybe", 2, None, [], {}],
    "any": [True, None, [], {}],
}


def wrong_values(schema: dict[str, Any]) -> list[Any]:
    """Values of none of the types `schema` allows."""
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        if any(option.get("type") == "null" for option in options):
            return [value for value in WRONG["any"] if value is not None]
        return WRONG["any"]
    return WRONG.get(schema.get("type", "any"), WRONG["any"])


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref", "")
    return components[reference.rsplit("/", 1)[-1]] if reference else schema


async def test_malformed_json_wrong_types_and_unknown_fields_are_400_with_a_message(
    client: httpx.AsyncClient, sample: Litestar, people: People, figures: Figures
) -> None:
    counter = Counter()
    counter.attach(client)
    band = (await Band.insert(Band(name="Pythonistas")))[0]["id"]
    await log_in_for_api(client, "boss")
    album = (
        await client.post("/api/albums", json={"title": "Blue", "price": "1.00", "band_id": band})
    ).json()["id"]
    # A valid body and concrete path per JSON write; a new one must be added here.
    valid: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
        ("post", "/api/albums"): (
            "/api/albums",
            {"title": "Async Nights", "price": "2.50", "band_id": band},
        ),
        ("put", "/api/albums/{album_id}"): (
            f"/api/albums/{album}",
            {"title": "Blue", "price": "3.00", "band_id": band},
        ),
        ("post", "/api/fans"): (
            "/api/fans",
            {"name": "Ada", "email": "ada@example.com", "band_id": band},
        ),
    }
    schema = (await client.get("/schema/openapi.json")).json()
    components = schema["components"]["schemas"]
    writes = [
        (
            method,
            path,
            resolve(operation["requestBody"]["content"]["application/json"]["schema"], components),
        )
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    missing = [(method, path) for method, path, _ in writes if (method, path) not in valid]
    assert not missing, f"give the hostile-body test a valid body for {missing}"

    before = await fingerprint(sample, skip=[LoginThrottle, SessionsBase])
    problems: list[str] = []
    sent = 0
    fields = 0

    async def refused(method: str, url: str, label: str, content: bytes) -> None:
        nonlocal sent
        sent += 1
        response = await client.request(
            method, url, content=content, headers={"content-type": "application/json"}
        )
        where = f"{method.upper()} {url} with {label}"
        body: Any = None
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
        good = (
            response.status_code == 400
            and isinstance(body, dict)
            and isinstance(body.get("detail"), str)
            and body["detail"].strip() != ""
        )
        if not good:
            problems.append(f"{where}: {response.status_code} {response.text[:150]}")

    for method, path, body_schema in writes:
        url, body = valid[(method, path)]
        properties: dict[str, Any] = body_schema.get("properties", {})
        fields += len(properties)
        for label, content in MALFORMED.items():
            await refused(method, url, label, content)
        for name, property_schema in properties.items():
            for value in wrong_values(property_schema):
                content = msgspec.json.encode({**body, name: value})
                await refused(method, url, f"{name}={value!r:.30}", content)
        for name in body_schema.get("required", []):
            content = msgspec.json.encode({key: v for key, v in body.items() if key != name})
            await refused(method, url, f"{name} missing", content)
        for name, value in UNKNOWN_FIELDS.items():
            await refused(
                method, url, f"unknown field {name}", msgspec.json.encode({**body, name: value})
            )

    assert not problems, "\n".join(problems[:60])
    assert await fingerprint(sample, skip=[LoginThrottle, SessionsBase]) == before, (
        "a refusal wrote"
    )
    # The valid bodies are valid: each refusal above was for what was changed in it.
    for method, path, _ in writes:
        url, body = valid[(method, path)]
        response = await client.request(method, url, json=body)
        assert response.status_code in {200, 201}, f"{method} {url}: {response.text[:200]}"
    figures.record(PART, "JSON writes covered (from the OpenAPI schema)", len(writes))
    figures.record(PART, "their fields given wrong types", fields)
    figures.record(PART, "malformed, mistyped or unknown-field bodies refused with 400", sent)
    figures.record(PART, "requests", counter.requests)
    assert not problems, "\n".join(problems[:60])


class Outcome(msgspec.Struct):
    status: int  # 0: no answer in time
    sent: int  # body bytes the server had taken when its answer arrived


def send_oversized(base: str, head: str, body: Iterator[bytes], deadline: float) -> Outcome:
    """Send `head` then stream `body`, watching for the answer all along: the body bytes the
    server had taken (sent less what the kernel still buffers) when its status line came."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(head.encode())
        connection.setblocking(False)
        sent, pending, answer = 0, b"", b""
        finished = time.monotonic() + deadline
        while time.monotonic() < finished:
            writable = [connection] if pending or body else []
            readable, ready, _ = select.select([connection], writable, [], 0.5)
            if readable:
                try:
                    data = connection.recv(65536)
                except ConnectionError:
                    data = b""
                answer += data
                if not data or b"\r\n" in answer:
                    break
            if ready:
                pending = pending or next(body, b"")
                if not pending:
                    body = iter(())
                    continue
                try:
                    count = connection.send(pending)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionError:
                    break
                sent, pending = sent + count, pending[count:]
        status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/") else b"0"
        return Outcome(status=int(status), sent=sent)


def chunks(total: int, chunked: bool, size: int = 256 * 1024) -> Iterator[bytes]:
    block = b"a" * size
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (size, block) if chunked else block
    if chunked:
        yield b"0\r\n\r\n"


def test_oversized_bodies_are_refused_with_413_before_they_are_read_whole(
    sample: Litestar, sample_server: str, figures: Figures
) -> None:
    site = sample_server
    limit = sample.request_max_body_size
    assert isinstance(limit, int)
    total = 64 * 1024 * 1024
    slack = 8 * 1024 * 1024  # what the kernel's socket buffers hold on the way
    with httpx.Client(base_url=site) as staff:
        staff.get("/admin/")  # the admin's own CSRF cookie
        token = CSRF_FIELD.search(staff.get("/login").text)
        assert token
        response = staff.post(
            "/login",
            data={
                "username": SUPERUSER,
                "password": SUPERUSER_PASSWORD,
                "_csrf_token": token.group(1),
            },
        )
        assert response.status_code == 303
        staff.headers["x-site-csrf"] = token.group(1)
        fan = staff.get("/api/fans").json()["items"][0]["id"]
        cookies = "; ".join(f"{name}={value}" for name, value in staff.cookies.items())
        site_csrf = f"site_csrf={staff.cookies['site_csrf']}"
        admin_csrf = staff.cookies["csrftoken"]
    form = "application/x-www-form-urlencoded"
    multipart = "multipart/form-data; boundary=hostile"
    staff_headers = f"Cookie: {cookies}\r\nx-site-csrf: {token.group(1)}\r\n"
    admin_headers = f"Cookie: {cookies}\r\nX-CSRFToken: {admin_csrf}\r\nOrigin: {site}\r\n"
    # (label, path, content type, headers)
    cases = [
        ("anonymous join form", "/join", form, f"Cookie: {site_csrf}\r\n"),
        ("anonymous login form", "/login", form, f"Cookie: {site_csrf}\r\n"),
        (
            "anonymous join JSON",
            "/api/fans",
            "application/json",
            f"Cookie: {site_csrf}\r\nx-site-csrf: {token.group(1)}\r\n",
        ),
        ("staff album JSON", "/api/albums", "application/json", staff_headers),
        ("staff album form", "/albums/new", form, staff_headers),
        ("staff photo upload", f"/fans/{fan}/photo", multipart, staff_headers),
        ("password change form", "/account/password", form, staff_headers),
        (
            "admin login",
            "/admin/public/login/",
            "application/json",
            # The admin checks its CSRF token first: with it, only the size can refuse.
            f"Cookie: csrftoken={admin_csrf}\r\nX-CSRFToken: {admin_csrf}\r\nOrigin: {site}\r\n",
        ),
        (
            "admin row JSON (staff)",
            "/admin/api/tables/album/",
            "application/json",
            admin_headers,
        ),
        (
            "admin media upload (staff)",
            "/admin/api/media/",
            multipart,
            admin_headers,
        ),
    ]
    multipart_start = (
        b'--hostile\r\nContent-Disposition: form-data; name="photo"; filename="big.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    )
    problems: list[str] = []
    largest = 0
    refused = 0
    for label, path, content_type, headers in cases:
        for framing in ("Content-Length", "chunked"):
            head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            head += headers
            prefix = multipart_start if content_type == multipart else b""
            if framing == "chunked":
                head += "Transfer-Encoding: chunked\r\n\r\n"
                first = b"%x\r\n%s\r\n" % (len(prefix), prefix) if prefix else b""
            else:
                head += f"Content-Length: {len(prefix) + total}\r\n\r\n"
                first = prefix
            body = itertools.chain([first] if first else [], chunks(total, framing == "chunked"))
            outcome = send_oversized(site, head, body, deadline=10)
            early = outcome.status == 413 and outcome.sent <= limit + slack
            where = f"{label} ({framing}): {outcome.status} after {outcome.sent:,} bytes"
            largest = max(largest, outcome.sent)
            if not early:
                problems.append(where)
            elif framing == "Content-Length" and outcome.sent > slack:
                problems.append(f"{where}: read although its length said too large")
            else:
                refused += 1
        assert httpx.get(f"{site}/healthz").status_code == 200
    figures.record(PART, "oversized bodies refused with 413 before read whole", refused)
    figures.record(
        PART,
        "most bytes taken before a 413, MB",
        round(largest / 2**20, 1),
        f"of {total // 2**20} MB sent; limit {limit / 2**20:.0f} MB",
    )
    assert not problems, "\n".join(problems)
