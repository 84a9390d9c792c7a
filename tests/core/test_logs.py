"""Production logging as a platform sees it: `piccolo project serve` writes one JSON object per
line on stdout, with one access line per request carrying the request's id, which every
response sends back as `x-request-id`."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bandstand.settings import load_settings
from tests.commands.running import environment, piccolo, stop, wait_until_healthy
from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO
from tests.support.postgres_servers import free_port

pytestmark = pytest.mark.engine_independent

PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "s" * 48,
    "ALLOWED_HOSTS": "localhost,127.0.0.1",
}
NEW_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str
    stdout: Path
    stderr: Path

    def lines(self) -> list[dict[str, Any]]:
        """Every complete line written to stdout so far, each parsed as JSON (or failing)."""
        text = self.stdout.read_text()
        return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]

    def access_line(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The access line that `predicate` picks, once the logging thread has written it."""
        deadline = time.monotonic() + 10
        while True:
            found = [
                entry
                for entry in self.lines()
                if entry["logger"] == "bandstand.access" and predicate(entry)
            ]
            if found:
                assert len(found) == 1, found
                return found[0]
            assert time.monotonic() < deadline, f"no such access line in {self.lines()}"
            time.sleep(0.05)


def path_is(path: str) -> Callable[[dict[str, Any]], bool]:
    return lambda entry: entry["path"] == path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One production server for the module, on a fresh migrated SQLite database; once it has
    stopped, everything it wrote is checked to be JSON lines on stdout and nothing on stderr."""
    folder = tmp_path_factory.mktemp("logs")
    database_url = f"sqlite:///{folder}/logs.sqlite3"
    migrated = piccolo("migrations", "forwards", "all", env={"DATABASE_URL": database_url})
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    port = free_port()
    env = environment(
        DATABASE_URL=database_url, PORT=str(port), LOG_LEVEL="INFO", LOG_FORMAT="", **PRODUCTION
    )
    stdout, stderr = folder / "stdout.log", folder / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [PICCOLO, "project", "serve"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    server = Served(process, f"http://127.0.0.1:{port}", stdout, stderr)
    try:
        wait_until_healthy(server.base, process, stderr)
        yield server
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=45)
    finally:
        stop(process)
    lines = server.lines()  # fails on a line that is not JSON
    assert stdout.read_text().endswith("\n")
    assert stderr.read_text() == ""
    assert lines[-1]["message"].startswith("Finished server process")


def test_every_stdout_line_is_a_json_object(served: Served) -> None:
    httpx.get(f"{served.base}/no/such/page", headers={"accept": "text/html"})
    served.access_line(path_is("/no/such/page"))

    lines = served.lines()
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in lines)
    assert all(entry["time"].endswith("Z") for entry in lines)  # UTC
    messages = {entry["message"] for entry in lines}
    assert "Application startup complete." in messages  # uvicorn's own lines, as JSON too
    # uvicorn's plain-text access log is off: the app's access line replaces it.
    assert not [entry for entry in lines if entry["logger"] == "uvicorn.access"]


def test_an_incoming_request_id_is_sent_back_and_logged(served: Served) -> None:
    response = httpx.get(f"{served.base}/healthz", headers={"x-request-id": "abc123"})

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc123"
    access = served.access_line(lambda entry: entry.get("request_id") == "abc123")
    assert access["method"] == "GET"
    assert access["path"] == "/healthz"
    assert access["status"] == 200
    assert access["client"] == "127.0.0.1"
    assert isinstance(access["duration_ms"], float)
    assert access["duration_ms"] >= 0


@pytest.mark.parametrize(
    "sent", [b"x" * 129, b"", b"bad id!", b"../../etc/passwd", b'"}{"level":"ERROR"', b"caf\xe9"]
)
def test_an_unusable_request_id_is_replaced(served: Served, sent: bytes) -> None:
    response = httpx.get(f"{served.base}/healthz", headers={b"x-request-id": sent})

    assert response.status_code == 200
    replaced = response.headers["x-request-id"]
    assert NEW_ID.fullmatch(replaced)
    served.access_line(lambda entry: entry.get("request_id") == replaced)
    if sent:
        assert sent.decode("latin-1") not in served.stdout.read_text()


def test_concurrent_requests_each_get_their_own_id_in_answer_and_log(served: Served) -> None:
    # Different paths, so that each access line can be matched to its request.
    paths = [f"/nothing/{number}" for number in range(8)]
    with ThreadPoolExecutor(len(paths)) as pool:
        responses = list(pool.map(lambda path: httpx.get(served.base + path), paths))

    ids = [response.headers["x-request-id"] for response in responses]
    assert len(set(ids)) == len(ids)
    assert all(NEW_ID.fullmatch(request_id) for request_id in ids)
    for path, request_id in zip(paths, ids, strict=True):
        access = served.access_line(path_is(path))
        assert access["request_id"] == request_id
        assert access["status"] == 404


def test_the_id_is_on_static_files_and_the_admin_too(served: Served) -> None:
    for path in ("/static/css/site.css", "/admin/"):
        response = httpx.get(served.base + path, headers={"x-request-id": "from-the-router"})
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "from-the-router"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "text"),
        ({"ENVIRONMENT": "test"}, "text"),
        (PRODUCTION, "json"),
        ({**PRODUCTION, "LOG_FORMAT": "Text"}, "text"),
        ({"LOG_FORMAT": "json"}, "json"),
    ],
)
def test_log_format_is_json_by_default_in_production_only(
    environ: dict[str, str], expected: str
) -> None:
    assert load_settings(environ, env_file=None).log_format == expected


def test_an_unknown_log_format_is_one_clear_line() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT='xml' is not valid: expected one of"):
        load_settings({"LOG_FORMAT": "xml"}, env_file=None)
