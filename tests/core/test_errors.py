"""Error answers in production: a 500 tells nothing of its cause (that goes to the log, under the
request's id, which the answer repeats), a browser gets pages and an API client JSON."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from litestar.testing import TestClient

from bandstand.app import create_app
from bandstand.settings import get_settings
from bandstand.testing.apps import build_app, client_for, project_app
from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.engine_independent

SECRET = "the-database-password-is-hunter2"
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@get("/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError(f"cannot connect with {SECRET}")


@post("/echo", sync_to_thread=False, exclude_from_csrf=True)
def echo(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return data


@get("/api/things/{thing_id:int}", sync_to_thread=False)
def thing(thing_id: FromPath[int]) -> None:
    raise NotFoundException("No such thing.")


@get("/recurse", sync_to_thread=False)
def recurse() -> None:
    def down(depth: int) -> int:
        return down(depth + 1)

    down(0)


@dataclass
class Site:
    client: httpx.AsyncClient
    output: io.StringIO  # what the app's logging writes to stdout

    def lines(self) -> list[dict[str, Any]]:
        text = self.output.getvalue()
        return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]

    async def logged(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first log line matching `predicate`, waiting for the logging thread."""
        deadline = time.monotonic() + 5
        while not (found := [entry for entry in self.lines() if predicate(entry)]):
            if time.monotonic() > deadline:
                raise AssertionError(f"no such log line in {self.lines()}")
            await anyio.sleep(0.02)
        return found[0]


def app_log_output() -> io.StringIO:
    """Point the handler that writes the app's log lines (behind Litestar's queue) at a buffer."""
    output = io.StringIO()
    writers = [
        writer
        for handler in logging.getLogger().handlers
        for writer in getattr(getattr(handler, "listener", None), "handlers", ())
    ]
    assert writers, "no queue listener on the root logger"
    for writer in writers:
        writer.setStream(output)
    return output


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """A production app sets up logging for the process: give it back to the suite's app."""
    yield
    app = project_app()
    assert app.logging_config is not None
    app.logging_config.configure()


@pytest.fixture
async def production(clean_tables: None, restore_logging: None) -> AsyncIterator[Site]:
    app: Litestar = await build_app(
        environment="production",
        secret_key="k" * 48,
        allowed_hosts=("localhost",),
        log_format="json",
        log_level="INFO",
    )
    for handler in (boom, echo, recurse, thing):
        app.register(handler)
    async with client_for(app) as client:
        yield Site(client, app_log_output())


def assert_tells_nothing(body: str) -> None:
    assert "Traceback" not in body
    assert SECRET not in body
    assert "RuntimeError" not in body
    assert ".py" not in body
    assert "site-packages" not in body
    assert str(PROJECT_ROOT) not in body


async def test_a_500_for_an_api_client_is_json_with_the_request_id(production: Site) -> None:
    response = await production.client.get("/boom")

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {
        "status_code": 500,
        "detail": "Internal Server Error",
        "request_id": request_id,
    }
    assert_tells_nothing(response.text)
    logged = await production.logged(lambda entry: "traceback" in entry)
    assert logged["request_id"] == request_id
    assert logged["level"] == "ERROR"
    assert SECRET in logged["traceback"]
    assert 'in boom\n    raise RuntimeError(f"cannot connect with {SECRET}")' in logged["traceback"]


async def test_a_500_for_a_browser_is_a_page_without_the_cause(production: Site) -> None:
    response = await production.client.get("/boom", headers=BROWSER)

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    request_id = response.headers["x-request-id"]
    assert "Something went wrong" in response.text
    assert request_id in response.text  # to quote when reporting it
    assert_tells_nothing(response.text)
    logged = await production.logged(lambda entry: "traceback" in entry)
    assert logged["request_id"] == request_id
    assert SECRET in logged["traceback"]
    access = await production.logged(lambda entry: entry["logger"] == "bandstand.access")
    assert access["request_id"] == request_id
    assert (access["method"], access["path"], access["status"]) == ("GET", "/boom", 500)


async def test_an_unknown_path_is_a_page_for_a_browser_and_json_otherwise(
    production: Site,
) -> None:
    page = await production.client.get("/no/such/page", headers=BROWSER)
    api = await production.client.get("/no/such/page")

    assert page.status_code == api.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    assert '<a href="/">' in page.text
    assert api.json() == {"status_code": 404, "detail": "Not Found"}
    # Answered before any of Litestar's middleware runs, and still with an id each.
    assert page.headers["x-request-id"] != api.headers["x-request-id"]
    # A client error is no error of the server's: nothing logged with a traceback.
    await production.logged(lambda entry: entry.get("path") == "/no/such/page")
    assert not [entry for entry in production.lines() if "traceback" in entry]


async def test_a_missing_static_file_and_an_api_404_keep_their_kind(production: Site) -> None:
    static = await production.client.get("/static/no-such.css", headers=BROWSER)
    api = await production.client.get("/api/things/999999", headers=BROWSER)

    assert static.status_code == 404
    assert "Page not found" in static.text
    assert "no-such.css" not in static.text  # Litestar's detail names the file: not on a page
    assert api.status_code == 404
    assert api.json()["detail"] == "No such thing."


def test_with_debug_the_500_is_litestars_debug_page() -> None:
    # Sync: the debug page reads the source files it shows, on the event loop (DEBUG is for a
    # developer's machine, refused in production).
    app = create_app((), msgspec.structs.replace(get_settings(), debug=True))
    for handler in (boom, echo, recurse):
        app.register(handler)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.get("/boom", headers=BROWSER)

    assert response.status_code == 500
    assert SECRET in response.text  # the debug page shows the cause, on purpose
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\xff"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
    ids=["invalid-utf-8", "nested-array", "nested-object"],
)
async def test_malformed_json_is_a_400_not_a_500(production: Site, body: bytes) -> None:
    # msgspec raises UnicodeDecodeError and RecursionError here, which Litestar lets through.
    response = await production.client.post(
        "/echo", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The request body is not valid JSON")
    await production.client.get("/healthz")  # a line after it, to wait for
    await production.logged(lambda entry: entry.get("path") == "/healthz")
    assert not [entry for entry in production.lines() if "traceback" in entry]


async def test_the_same_errors_from_the_apps_own_code_are_still_500s(production: Site) -> None:
    response = await production.client.get("/recurse")
    assert response.status_code == 500
    logged = await production.logged(lambda entry: "traceback" in entry)
    assert "RecursionError" in logged["traceback"]
