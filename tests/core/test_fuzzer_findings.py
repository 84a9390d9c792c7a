"""Requests the byte-level fuzzer (tests/stress/test_fuzz_bytes.py) found answered 500, with a
traceback in the log: each is now a 4xx with a message, and nothing is logged as an error.

Some need the bytes as a server hands them over (a raw non-UTF-8 byte in a query), which an
HTTP client would clean: those go to the app's ASGI interface directly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from bandstand.accounts.tables import Group
from bandstand.errors import MALFORMED_FORM
from bandstand.forms import NO_NUL
from bandstand.testing.accounts import People, csrf_token, log_in
from bandstand.testing.apps import project_app

HTML = {"accept": "text/html"}


class ErrorRecords(logging.Handler):
    """Records at ERROR or above, or with a traceback, from every logger."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def texts(self) -> list[str]:
        return [f"{record.name}: {record.getMessage()}" for record in self.records]


@pytest.fixture
def errors_logged() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


async def raw_request(
    app: Litestar, path: bytes, query: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    """A GET as uvicorn hands it over: the query's bytes as they came."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path.decode(),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("localhost", 80),
    }
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)  # type: ignore[arg-type]
    return answer["status"], answer["body"]


# Static files


@pytest.mark.parametrize(
    "path",
    ["/static/css/bandstand.css/more", "/static/css/bandstand.css%00", "/static/" + "a" * 300],
    ids=["file-as-folder", "nul", "name-too-long"],
)
async def test_a_static_path_that_can_name_no_file_is_a_404(
    client: httpx.AsyncClient, errors_logged: ErrorRecords, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert errors_logged.texts() == []
    # The files themselves are still served.
    assert (await client.get("/static/css/bandstand.css")).status_code == 200


# A query that is not UTF-8


async def test_a_page_whose_query_is_not_utf8_is_served(
    client: httpx.AsyncClient, errors_logged: ErrorRecords
) -> None:
    # Every page reads `request.url`, which decoded the query as UTF-8 and raised: even the
    # 500 page did, so the server answered with its own.
    status, body = await raw_request(
        project_app(), b"/login", b"next=/caf\xe9&x=\xff\xfe", [(b"accept", b"text/html")]
    )
    assert status == 200
    assert b"<form" in body
    assert errors_logged.texts() == []


async def test_a_refused_query_that_is_not_utf8_is_a_400_with_its_message(
    client: httpx.AsyncClient, people: People, errors_logged: ErrorRecords
) -> None:
    await log_in(client, "plain")
    cookie = f"id={client.cookies['id']}".encode()
    # Litestar's refusal of a parameter names the URL: it read `request.url` too.
    status, body = await raw_request(
        project_app(), b"/account", b"changed=\xff", [(b"cookie", cookie)]
    )
    assert status == 400
    assert b"changed" in body
    assert errors_logged.texts() == []


# Multipart forms


@pytest.mark.parametrize(
    "part",
    [
        b'Content-Disposition: form-data; name="username"\r\n\r\nb\xe9a\xff',
        b'Content-Disposition: form-data; name="username"\r\n'
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nbea",
    ],
    ids=["not-utf8", "unknown-charset"],
)
async def test_a_multipart_field_that_is_not_text_is_a_400(
    client: httpx.AsyncClient, errors_logged: ErrorRecords, part: bytes
) -> None:
    # The CSRF check reads the form for its token, before any handler: any form POST did this.
    body = b"--B\r\n" + part + b"\r\n--B--\r\n"
    response = await client.post(
        "/login", content=body, headers={"content-type": "multipart/form-data; boundary=B"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == MALFORMED_FORM
    assert errors_logged.texts() == []


# Piccolo Admin


@pytest.fixture
async def admin(client: httpx.AsyncClient, people: People) -> httpx.AsyncClient:
    """`client` as a superuser, with the admin's CSRF token in its header."""
    await log_in(client, "boss")
    await client.get("/admin/")
    client.headers["x-csrftoken"] = client.cookies["csrftoken"]
    await Group.insert(Group(name="crew"), Group(name="band"))
    return client


@pytest.mark.parametrize(
    "query",
    [
        "__order=no_such_column",
        "__order=-name%0D%0A",
        "name=crew&name=band",
        "name=" + "x" * 200,
        "name=cr%00ew",
    ],
    ids=["order-by-no-column", "order-by-crlf", "filter-twice", "filter-too-long", "filter-nul"],
)
async def test_a_malformed_admin_listing_is_a_400(
    admin: httpx.AsyncClient, errors_logged: ErrorRecords, query: str
) -> None:
    response = await admin.get(f"/admin/api/tables/group/?{query}")
    assert response.status_code == 400, response.text
    assert response.text
    assert errors_logged.texts() == []
    # Well-formed, the same listing works.
    listing = await admin.get("/admin/api/tables/group/?__order=-name&name=crew")
    assert [row["name"] for row in listing.json()["rows"]] == ["crew"]


async def test_text_holding_nul_is_refused_by_the_admin_on_every_database(
    admin: httpx.AsyncClient, errors_logged: ErrorRecords
) -> None:
    # PostgreSQL cannot store NUL in text: its driver's error escaped as a 500.
    names = sorted(await Group.select(Group.name).output(as_list=True))
    search = await admin.get("/admin/api/tables/group/ids/?search=cr%00")
    created = await admin.post("/admin/api/tables/group/", json={"name": "a\0b"})
    crew = await Group.select(Group.id).where(Group.name == "crew").first()
    assert crew is not None
    patched = await admin.patch(f"/admin/api/tables/group/{crew['id']}/", json={"name": "a\0b"})
    replaced = await admin.put(f"/admin/api/tables/group/{crew['id']}/", json={"name": "a\0b"})
    for response in (search, created, patched, replaced):
        assert response.status_code == 400, response.text
        assert NO_NUL in response.text
    assert sorted(await Group.select(Group.name).output(as_list=True)) == names
    assert errors_logged.texts() == []


async def test_a_write_the_database_refuses_is_a_422_logged_without_a_traceback(
    admin: httpx.AsyncClient, errors_logged: ErrorRecords, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="piccolo_api"):
        response = await admin.post("/admin/api/tables/group/", json={"name": "crew"})
    assert response.status_code == 422
    assert "db_error" in response.json()
    assert errors_logged.texts() == []
    [record] = [item for item in caplog.records if item.name.startswith("piccolo_api")]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "answered 422" in record.getMessage()


async def test_an_admin_login_that_is_not_utf8_is_a_400(
    client: httpx.AsyncClient, errors_logged: ErrorRecords
) -> None:
    await client.get("/admin/")
    response = await client.post(
        "/admin/public/login/",
        content=b'{"username": "b\xe9a", "password": "x"}',
        headers={"content-type": "application/json", "x-csrftoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 400
    assert response.text == "Login failed: the request is not UTF-8 text."
    assert errors_logged.texts() == []


async def test_a_repeated_session_cookie_is_read_as_piccolo_admin_reads_it(
    client: httpx.AsyncClient, people: People, errors_logged: ErrorRecords
) -> None:
    """The last `id` wins, for the site's check as for the admin: checking the first let
    `id=<a session>; id="\\000"` through, which Starlette unquotes to a NUL and piccolo_api
    looked up (a 500 on PostgreSQL)."""
    await log_in(client, "boss")
    session = client.cookies["id"].encode()
    fresh = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with fresh:
        answers = {
            cookie: (await fresh.get("/admin/api/tables/", headers={b"cookie": cookie}))
            for cookie in (b"id=" + session + b'; id="\\000"', b"id=nonsense; id=" + session)
        }
    statuses = {cookie: response.status_code for cookie, response in answers.items()}
    assert list(statuses.values()) == [401, 200], statuses
    assert errors_logged.texts() == []


async def test_the_csrf_token_of_a_form_is_still_read(client: httpx.AsyncClient) -> None:
    """The multipart refusal is for text that is not text: a multipart login form is read."""
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        files={"username": (None, "nobody"), "password": (None, "wrong password")},
        data={"_csrf_token": token},
        headers=HTML,
    )
    assert response.status_code in {400, 422}, response.text
    assert "CSRF" not in response.text
