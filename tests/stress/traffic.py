"""Real traffic for the load and fault tests: the sample site served as it is deployed,
browsers that keep their own cookies, a record of every answer, and the database read back
directly.

The server is `piccolo project serve --app=tests.support.sample_site:app` with production
settings (JSON logs, `Secure` cookies, a strong key) behind a pretend TLS proxy: every request
says `X-Forwarded-Proto: https` and may carry its own `X-Forwarded-For`, which the server
trusts from 127.0.0.1 as a real deployment trusts its proxy.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bandstand.database.url import PostgresDatabase, SQLiteDatabase, parse_database_url
from bandstand.testing.sse import parse_sse
from tests.commands.running import stop, wait_until_healthy
from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO
from tests.support.postgres_servers import free_port

SAMPLE_SITE = "tests.support.sample_site:app"
PASSWORD = "load-test-password"
SUPERUSER = "admin"
SUPERUSER_PASSWORD = "sample-superuser-secret"
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
TRACEBACK_SIGNS = ("Traceback", 'File "', "asyncpg", "sqlite3", "/site-packages/")

# Run in the database's own process: the sample site's tables and data, and the accounts.
PREPARE = """
import asyncio, sys
from piccolo.engine.finder import engine_finder
from bandstand.accounts.users import create_user
from tests.support import tables
from tests.support.sample import demo

async def main(prefix, count, password, superuser, superuser_password):
    await tables.create()
    await demo.load()
    for number in range(count):
        email = f"{prefix}{number}@example.com"
        await create_user(f"{prefix}{number}", email, password, admin=True)
    if superuser_password:
        email = f"{superuser}@example.com"
        await create_user(superuser, email, superuser_password, admin=True, superuser=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:]))
engine = engine_finder()
if hasattr(engine, "close_query_threads"):
    engine.close_query_threads()
"""


def production_environment(database_url: str, **environ: str) -> dict[str, str]:
    """The environment a platform would give the app, on `database_url`."""
    return {
        **os.environ,
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # The load's staff log in many times a minute: with a second factor, each login would
        # need a code of its own period (tests/accounts/test_two_factor.py covers that).
        "STAFF_REQUIRE_2FA": "false",
        **environ,
    }


def run_command(*command: str, environ: Mapping[str, str]) -> str:
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=dict(environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def prepare_database(
    database_url: str, *, users: int = 0, superuser_password: str = "", **environ: str
) -> None:
    """A deploy's release step on a fresh database (the framework's migrations, and the
    site's), then the sample site's tables and data, `users` staff accounts named load0,
    load1, … with PASSWORD, and a superuser SUPERUSER if given a password. `environ` as for
    the server (MEDIA_ROOT: where the sample's photos go)."""
    environment = production_environment(database_url, **environ)
    run_command(PICCOLO, "project", "release", environ=environment)
    accounts = ("load", str(users), PASSWORD, SUPERUSER, superuser_password)
    run_command(sys.executable, "-c", PREPARE, *accounts, environ=environment)


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"level": "RAW", "message": line})
        return lines


@contextmanager
def serving(
    database_url: str,
    log: Path,
    *,
    production: bool = True,
    app: str = SAMPLE_SITE,
    **environ: str,
) -> Iterator[Server]:
    """`piccolo project serve --app=<app>` (the sample site) on a free port, stopped
    afterwards: production settings (JSON logs, the app's own access log), or with
    `production=False` the test environment's."""
    port = free_port()
    if production:
        environment = production_environment(database_url, PORT=str(port), **environ)
    else:
        environment = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), **environ}
    command = [PICCOLO, "project", "serve", "--host=127.0.0.1", f"--app={app}"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, process, log)
        yield Server(base, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        finally:
            stop(process)


# ---------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    """One request and what came of it (a status, or a transport error's name)."""

    target: str  # which server
    kind: str
    method: str
    path: str
    started: float  # time.monotonic()
    seconds: float
    status: int | None
    error: str = ""
    body: str = ""
    retry_after: str | None = None
    request_id: str | None = None

    @property
    def ended(self) -> float:
        return self.started + self.seconds

    @property
    def outcome(self) -> str:
        return str(self.status) if self.status is not None else self.error

    def sample(self) -> str:
        return f"{self.kind} {self.method} {self.path} → {self.outcome}: {self.body[:300]!r}"


@dataclass
class Record:
    answers: list[Answer] = field(default_factory=list)

    def add(self, answer: Answer) -> None:
        self.answers.append(answer)

    def counts(self, answers: Iterable[Answer] | None = None) -> Counter[tuple[str, str]]:
        return Counter((a.kind, a.outcome) for a in (self.answers if answers is None else answers))

    def unexpected(self, expected: Mapping[str, set[int]]) -> list[Answer]:
        return [a for a in self.answers if a.status not in expected[a.kind]]

    def evidence(self, bad: list[Answer], limit: int = 12) -> str:
        counts = "\n".join(f"  {k} {o}: {n}" for (k, o), n in sorted(self.counts().items()))
        samples = "\n".join(f"  {a.sample()}" for a in bad[:limit])
        return f"answers by kind and status:\n{counts}\nsamples:\n{samples}"


# ---------------------------------------------------------------- browsers


@dataclass
class Browser:
    """One visitor: its own cookies (kept by hand: they are `Secure`, and this hop is http,
    where a cookie jar would rightly hold them back) and its own client address."""

    http: httpx.AsyncClient
    record: Record
    target: str
    address: str = "203.0.113.1"
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"x-forwarded-proto": "https", "x-forwarded-for": self.address}
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.csrf:
            headers["x-site-csrf"] = self.csrf
        return {**headers, **(extra or {})}

    def _keep_cookies(self, response: httpx.Response) -> None:
        for cookie in response.headers.get_list("set-cookie"):
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in cookie.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)

    async def request(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        **content: Any,
    ) -> Answer:
        started = time.monotonic()
        try:
            response = await self.http.request(
                method, self.target + path, headers=self._headers(headers), **content
            )
        except httpx.HTTPError as error:
            answer = self._failed(kind, method, path, started, error)
        else:
            self._keep_cookies(response)
            answer = self._answered(kind, method, path, started, response, response.text)
        self.record.add(answer)
        return answer

    async def stream(self, kind: str, path: str, payload: object) -> tuple[Answer, list[Event]]:
        """POST and read a Server-Sent Events answer to its end."""
        started = time.monotonic()
        events: list[Event] = []
        try:
            async with self.http.stream(
                "POST", self.target + path, headers=self._headers(None), json=payload
            ) as response:
                text = (await response.aread()).decode()
            self._keep_cookies(response)
            answer = self._answered(kind, "POST", path, started, response, text)
            if response.status_code == 200:
                events = parse_events(text)
        except httpx.HTTPError as error:
            answer = self._failed(kind, "POST", path, started, error)
        self.record.add(answer)
        return answer, events

    def _answered(
        self,
        kind: str,
        method: str,
        path: str,
        started: float,
        response: httpx.Response,
        text: str,
    ) -> Answer:
        return Answer(
            target=self.target,
            kind=kind,
            method=method,
            path=path,
            started=started,
            seconds=time.monotonic() - started,
            status=response.status_code,
            body=text if len(text) < 4000 else text[:4000],
            retry_after=response.headers.get("retry-after"),
            request_id=response.headers.get("x-request-id"),
        )

    def _failed(
        self, kind: str, method: str, path: str, started: float, error: Exception
    ) -> Answer:
        return Answer(
            target=self.target,
            kind=kind,
            method=method,
            path=path,
            started=started,
            seconds=time.monotonic() - started,
            status=None,
            error=type(error).__name__,
            body=str(error),
        )

    async def form_token(self, kind: str, path: str) -> str | None:
        answer = await self.request(kind, "GET", path, headers={"accept": "text/html"})
        found = CSRF_FIELD.search(answer.body)
        return found.group(1) if found else None

    async def log_in(self, kind: str, username: str, password: str) -> Answer | None:
        """The login form, then its POST (303 on success); None if the form did not come."""
        token = await self.form_token(kind, "/login")
        if token is None:
            return None
        return await self.request(
            kind,
            "POST",
            "/login",
            headers={"accept": "text/html"},
            data={"username": username, "password": password, "_csrf_token": token},
        )


@dataclass(frozen=True)
class Event:
    kind: str
    data: Any


def parse_events(text: str) -> list[Event]:
    """The Server-Sent Events in a response body, their data decoded as JSON."""
    return [Event(kind, data) for kind, data in parse_sse(text)]


def joining(email: str, name: str, band: int) -> dict[str, str | int]:
    """The body of a POST /api/fans."""
    return {"name": name, "email": email, "band_id": band}


def checksum(rows: Iterable[tuple[str, ...]]) -> str:
    """One digest over rows, whatever order they come in."""
    digest = hashlib.sha256()
    for row in sorted(rows):
        digest.update("\x1f".join(row).encode() + b"\x1e")
    return digest.hexdigest()


# ---------------------------------------------------------------- the database, read directly


def read_database(database_url: str, sql: str) -> list[dict[str, Any]]:
    """Rows of `sql`, read with the driver itself, not through the app or Piccolo."""
    database = parse_database_url(database_url)
    if isinstance(database, SQLiteDatabase):
        path = database.path if database.path.is_absolute() else PROJECT_ROOT / database.path
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            cursor = connection.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            connection.close()
    assert isinstance(database, PostgresDatabase)
    return asyncio.run(_read_postgres(database, sql))


async def _read_postgres(database: PostgresDatabase, sql: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(**database.connect_kwargs)
    try:
        return [dict(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()
