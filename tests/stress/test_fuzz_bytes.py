"""The byte-level fuzzer: the site crawled as an anonymous visitor, a plain user and a staff
member (every link, every form with its hidden fields, every operation of the OpenAPI schema,
Piccolo Admin's API), then every request sent again with its values, headers and cookies
altered byte by byte (tests/stress/mutations.py says how).

Whatever arrives: no 5xx, no traceback or error in the log, every refusal a 4xx with a
message, no header of the answer broken by what the request carried, no redirect off the site,
and a refused write leaves the database as it was (compared after every write).

In-process, through the app's ASGI interface, with the bytes as they are
(tests/stress/raw_http.py). That carries more than uvicorn lets through: it refuses, with its
own 400, a raw non-ASCII byte in the path or the query, and NUL, CR or LF in a header value
(control characters too, with httptools). The app is fuzzed with them anyway: another server,
or a proxy, may pass them on. A sample goes through uvicorn as well, over a socket, which shows
where that boundary is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
import pytest
from litestar import Litestar
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder
from piccolo.table import Table
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.sessions import SESSION_COOKIE
from bandstand.accounts.tables import LoginThrottle
from bandstand.app import site_of
from bandstand.audit.tables import AuditEntry
from bandstand.features import with_framework
from bandstand.testing.accounts import PASSWORD, People
from bandstand.testing.apps import build_app
from tests.stress.crawler import ORIGIN, Blueprint, Crawler, Identity, PageParser, log_in
from tests.stress.figures import Figures
from tests.stress.mutations import (
    BODY_MUTATIONS,
    HEADERS,
    PAYLOADS,
    Draft,
    Mutation,
    Target,
    answer_problems,
    apply,
    choose,
    every_payload,
)
from tests.stress.raw_http import LogWatch, RawRequest, RawResponse, exchange
from tests.support import PROJECT_ROOT
from tests.support.postgres_servers import free_port

pytestmark = pytest.mark.timeout(900)

PART = "byte-level fuzzing"
SEED = 20261127
# Value mutations per request found, besides its 1 MB one and its body mutations.
BUDGET = 40
# A refused login is counted, and recorded: writing that is what the throttle and the audit
# log are for.
WRITTEN_BY_REFUSALS: frozenset[type[Table]] = frozenset({LoginThrottle, AuditEntry})
DESTRUCTIVE = frozenset({b"delete", b"remove", b"destroy"})
CSRF_REFUSAL = b"CSRF token verification failed"


async def fingerprint() -> dict[str, str]:
    """A digest of each table's rows, by table: equal digests, nothing written."""
    digests = {}
    for table in Finder().get_table_classes():
        if table is Migration or table in WRITTEN_BY_REFUSALS:
            continue
        rows = await table.select().order_by(table._meta.primary_key)
        encoded = json.dumps(rows, default=repr, sort_keys=True).encode()
        digests[table._meta.tablename] = hashlib.sha256(encoded).hexdigest()
    return digests


@dataclass
class Tally:
    blueprints: int = 0
    endpoints: set[str] = field(default_factory=set)
    requests: int = 0
    mutations: int = 0
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)  # (location, kind)
    headers: set[bytes] = field(default_factory=set)  # the headers mutated
    statuses: Counter[int] = field(default_factory=Counter)
    refused_writes: int = 0  # each compared with the database before it
    accepted_writes: int = 0
    csrf_refused_originals: list[str] = field(default_factory=list)
    # Each problem once per endpoint, with the first request that showed it.
    problems: dict[tuple[str, str], str] = field(default_factory=dict)
    problem_count: int = 0

    def problem(self, where: str, what: str, request: RawRequest | None, how: str) -> None:
        self.problem_count += 1
        sent = f"\n    {request.describe()}" if request else ""
        self.problems.setdefault((where, what.split(":")[0]), f"{where} [{how}] {what}{sent}")

    def count(self, mutation: Mutation) -> None:
        self.mutations += 1
        self.sent[mutation.target.location, mutation.kind] += 1
        if mutation.target.location == "header":
            self.headers.add(mutation.target.name)


class Fuzzer:
    def __init__(self, app: Litestar, identity: Identity, watch: LogWatch) -> None:
        self.app, self.identity, self.watch = app, identity, watch
        self.crawler = Crawler(app, identity)
        self.tally = Tally()
        self.database: dict[str, str] = {}

    async def run(self) -> Tally:
        queue = _in_order(await self.crawler.crawl())
        self._check_log("crawl", None, "crawling")
        while queue:
            blueprint = queue.pop(0)
            queue = _in_order(queue + await self.fuzz(blueprint))
        self.tally.requests += self.crawler.requests
        return self.tally

    async def fuzz(self, blueprint: Blueprint) -> list[Blueprint]:
        """Send the blueprint as found, then each of its mutations; the blueprints of the page
        the request as found led to, if new."""
        self.tally.blueprints += 1
        self.tally.endpoints.add(blueprint.endpoint)
        if blueprint.writes:
            self.database = await fingerprint()
        original = Draft.of(blueprint, self.identity).encode()
        response = await self.send(blueprint, original, "as found")
        if blueprint.writes and response.status == 403 and CSRF_REFUSAL in response.body:
            self.tally.csrf_refused_originals.append(original.describe())
        found: list[Blueprint] = []
        location = response.header(b"location")
        if 300 <= response.status < 400 and location:
            found = await self.crawler.follow(location, f"redirect from {blueprint.endpoint}")
        for mutation in choose(blueprint, self.identity, BUDGET, SEED):
            self.tally.count(mutation)
            request = apply(mutation, blueprint, self.identity)
            await self.send(blueprint, request, mutation.describe())
        return found

    async def send(self, blueprint: Blueprint, request: RawRequest, how: str) -> RawResponse:
        response = await exchange(self.app, request)
        self.tally.requests += 1
        self.tally.statuses[response.status] += 1
        where = f"{blueprint.endpoint} ({blueprint.found})"
        for problem in answer_problems(response):
            self.tally.problem(where, problem, request, how)
        self._check_log(where, request, how)
        if blueprint.writes:
            await self._check_database(blueprint, request, response, how)
        if any(
            name.lower() == b"set-cookie" and value.startswith(SESSION_COOKIE.encode() + b"=")
            for name, value in response.headers
        ):
            await self._keep_session()
        return response

    def _check_log(self, where: str, request: RawRequest | None, how: str) -> None:
        for record in self.watch.take():
            self.tally.problem(where, f"logged {record}", request, how)

    async def _check_database(
        self, blueprint: Blueprint, request: RawRequest, response: RawResponse, how: str
    ) -> None:
        after = await fingerprint()
        if 400 <= response.status < 500:
            self.tally.refused_writes += 1
            changed = sorted(name for name in after if after[name] != self.database.get(name))
            if changed:
                what = f"refused ({response.status}) yet wrote to {', '.join(changed)}"
                self.tally.problem(f"{blueprint.endpoint} ({blueprint.found})", what, request, how)
        elif response.status < 400:
            self.tally.accepted_writes += 1
        self.database = after

    async def _keep_session(self) -> None:
        """A request logged the identity out (or in again, as someone else): log in again, as
        the same person, so that the rest is still sent as them."""
        if self.identity.username is None:
            return
        token = self.identity.cookies.get(SESSION_COOKIE.encode(), b"").decode()
        if token and await SessionsBase.exists().where(SessionsBase.token == token):
            return
        # The fuzzed login forms failed many times from this address, on purpose.
        await LoginThrottle.delete(force=True)
        await log_in(self.app, self.identity, PASSWORD)
        self.database = await fingerprint()


def _in_order(blueprints: list[Blueprint]) -> list[Blueprint]:
    """Reads, then writes, then deletions: what the others need still exists while they run."""

    def rank(blueprint: Blueprint) -> int:
        if not blueprint.writes:
            return 0
        last = next((part for part in reversed(blueprint.path) if part), b"")
        return 2 if blueprint.method == "DELETE" or last in DESTRUCTIVE else 1

    return sorted(blueprints, key=rank)


async def _load_demo_data(app: Litestar) -> None:
    """Whatever demo data the site's features have (none without the demos)."""
    features, _ = site_of(app)
    for feature in with_framework(features):
        if feature.load_demo:
            await feature.load_demo()


IDENTITIES = {"anonymous": None, "plain": "plain", "staff": "staff"}


@pytest.mark.parametrize("who", list(IDENTITIES))
async def test_no_byte_of_input_gets_a_server_error(
    who: str, people: People, figures: Figures
) -> None:
    # The site's own app, with sign-up on so that its form is fuzzed too.
    app = await build_app(signup_enabled=True)
    await _load_demo_data(app)
    identity = Identity(who, IDENTITIES[who])
    async with app.lifespan():
        with LogWatch().watching() as watch:
            if identity.username:
                await log_in(app, identity, PASSWORD)
            fuzzer = Fuzzer(app, identity, watch)
            tally = await fuzzer.run()
    _report(who, tally, figures)
    report = "\n".join(tally.problems.values())
    assert tally.problem_count == 0, f"{tally.problem_count} problems:\n{report}"
    assert sum(n for status, n in tally.statuses.items() if status >= 500) == 0
    # The fuzzer's own reach: every link the site gave worked; writes as found passed the CSRF
    # check (else each mutation of a write would stop there); every payload kind and body
    # mutation was sent, and every header had a payload.
    assert fuzzer.crawler.broken == []
    assert tally.csrf_refused_originals == []
    assert {kind for _, kind in tally.sent} >= {*PAYLOADS, *BODY_MUTATIONS}
    assert tally.headers == set(HEADERS) | {b"content-type"}
    if identity.username:
        assert tally.accepted_writes > 0


def _report(who: str, tally: Tally, figures: Figures) -> None:
    note = f"seed {SEED}; per request found, {BUDGET} value mutations, a 1 MB one, the body's"
    refusals = sum(n for status, n in tally.statuses.items() if 400 <= status < 500)
    figures.record(PART, f"endpoints ({who})", len(tally.endpoints))
    figures.record(PART, f"requests found ({who})", tally.blueprints)
    figures.record(PART, f"requests sent ({who})", tally.requests, note)
    figures.record(PART, f"mutations ({who})", tally.mutations)
    figures.record(PART, f"5xx ({who})", sum(n for s, n in tally.statuses.items() if s >= 500))
    figures.record(PART, f"refusals, 4xx with a message ({who})", refusals)
    figures.record(PART, f"refused writes, database unchanged ({who})", tally.refused_writes)
    figures.record(PART, f"accepted writes ({who})", tally.accepted_writes)
    figures.record(PART, f"problems ({who})", tally.problem_count)


# The same kind of requests through uvicorn


SERVER_REFUSAL = b"Invalid HTTP request received."


@contextmanager
def uvicorn(log: Path) -> Iterator[int]:
    """`uvicorn main:app` on a free port (the run's database, from the environment), its
    output in `log`; yields the port."""
    port = free_port()
    with log.open("wb") as output:
        command = [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port)]
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success:
                        break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"uvicorn did not start: {log.read_text()}") from None
                    time.sleep(0.1)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=10)


def over_socket(port: int, request: RawRequest) -> RawResponse:
    """`request` written on a new connection as it is, CR and LF in its headers included."""
    target = request.raw_path + (b"?" + request.query if request.query else b"")
    head = request.method.encode() + b" " + target + b" HTTP/1.1\r\n"
    head += b"".join(name + b": " + value + b"\r\n" for name, value in request.headers)
    head += b"content-length: %d\r\nconnection: close\r\n\r\n" % len(request.body)
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        # The server may answer and close before reading it all.
        with contextlib.suppress(OSError):
            connection.sendall(head + request.body)
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    headers_text, _, body = rest.partition(b"\r\n\r\n")
    headers = [
        (name.strip().lower(), value.strip())
        for line in headers_text.split(b"\r\n")
        for name, _, value in [line.partition(b":")]
    ]
    return RawResponse(int(status_line.split()[1]), headers, body)


async def test_through_uvicorn_the_same_kind_of_requests_get_no_server_error(
    clean_tables: None, figures: Figures, tmp_path: Path
) -> None:
    """The login page and form, and a static file, with every payload in a few of their places,
    sent over a socket to uvicorn: the server refuses some itself, the app answers the rest; no
    5xx either way, and no traceback or error in the server's output."""
    answers, problems, output = await anyio.to_thread.run_sync(through_uvicorn, tmp_path)
    figures.record(PART, "through uvicorn: requests", sum(answers.values()))
    figures.record(PART, "through uvicorn: refused by the server", answers["server 4xx"])
    figures.record(PART, "through uvicorn: 5xx", sum(n for k, n in answers.items() if "5xx" in k))
    assert problems == [], "\n".join(problems)
    # The boundary the module's docstring describes: what uvicorn refuses before the app.
    assert answers["server 4xx"] > 0, answers
    assert answers["app 2xx"] > 0, answers
    assert "Traceback" not in output, output[-3000:]
    assert "ERROR" not in output, output[-3000:]


def through_uvicorn(folder: Path) -> tuple[Counter[str], list[str], str]:
    """What answered (the server or the app) and with what class of status, the problems
    with the answers, and the server's output."""
    log = folder / "uvicorn.log"
    identity = Identity("anonymous")
    answers: Counter[str] = Counter()
    problems = []
    with uvicorn(log) as port:
        page = over_socket(port, Draft.of(Blueprint("GET", (b"login",)), identity).encode())
        identity.keep_cookies(page)
        login = PageParser.parse(f"{ORIGIN}/login", page.body).forms[0]
        page_with_query = Blueprint("GET", (b"login",), ((b"next", b"/account"),))
        static_file = Blueprint("GET", (b"static", b"css", b"bandstand.css"))
        form = Blueprint(
            "POST",
            (b"login",),
            body="form",
            fields=tuple(login.fields),
            headers=((b"origin", ORIGIN.encode()),),
        )
        # Every payload in a few places, rather than a sample of places.
        places = {
            page_with_query: [
                Target("query", b"next"),
                *(Target("header", name) for name in (b"host", b"cookie", b"x-request-id")),
            ],
            static_file: [Target("path"), Target("header", b"range")],
            form: [Target("field", b"_csrf_token"), Target("field", b"username")],
        }
        for blueprint, targets in places.items():
            mutations = [mutation for target in targets for mutation in every_payload(target)]
            if blueprint.body != "none":
                mutations += [Mutation(Target("body"), kind) for kind in BODY_MUTATIONS]
            for mutation in mutations:
                request = apply(mutation, blueprint, identity)
                response = over_socket(port, request)
                by = "server" if response.body == SERVER_REFUSAL else "app"
                answers[f"{by} {response.status // 100}xx"] += 1
                problems += [
                    f"{mutation.describe()}: {problem}\n    {request.describe()}"
                    for problem in answer_problems(response)
                ]
        # Still serving after all that.
        still = over_socket(port, Draft.of(static_file, identity).encode())
        problems += [] if still.status == 200 else [f"then {still.status} for a static file"]
    return answers, problems, log.read_text()
