"""Faults: the database and the pooler restarted under load, the app started while the
database is down, and SQLite written by eight processes at once.

PostgreSQL here is a throwaway TLS server with PgBouncer (transaction mode) in front, as a
managed database and its pooler are; the sample site runs as deployed (`piccolo project
serve`, production settings), twice: one instance straight to PostgreSQL, one through
PgBouncer, both with `sslmode=require`. A request that meets the outage must get a quick 503
with a clear body and `Retry-After`, never a 500 or a hang; the app must serve again within
5 s of the server's return, without a restart; and what it acknowledged must be in the
database, whole: a fan and the band's count of fans are written in one transaction, so they
agree whatever was cut.

PgBouncer runs tuned for fail-over (FAST_FAILOVER): with its defaults it refuses every query
for up to 15 s after PostgreSQL is back ("server login has been failing", server_login_retry),
and holds a query that meets the outage for up to 120 s (query_wait_timeout). No app behind
the pooler can shorten either.

These start their own servers, whatever the pass: they run once, in the SQLite pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bandstand.database.postgres import POOL_ACQUIRE_TIMEOUT_SECONDS
from bandstand.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from bandstand.testing.database import run_piccolo
from tests.stress.figures import Figures
from tests.stress.traffic import (
    TRACEBACK_SIGNS,
    Answer,
    Browser,
    Record,
    Server,
    joining,
    prepare_database,
    read_database,
    serving,
)
from tests.stress.writers import BAND
from tests.stress.writers import email as writer_email
from tests.support import PROJECT_ROOT
from tests.support.mandatory import skip_unless_ci
from tests.support.postgres_servers import PgBouncer, PostgresServer, missing_prerequisites

pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(420)]

PART = "faults"
WORKERS_PER_APP = 16
WARM_UP = 4.0
OUTAGE = 2.0
SETTLE = 8.0
RECOVERY_LIMIT = 5.0
# The longest a request may take during an outage: a pooled connection's wait, plus a margin
# for a loaded two-core machine.
LATENCY_LIMIT = POOL_ACQUIRE_TIMEOUT_SECONDS + 2.0
WRITERS = 8
WRITES = 500
# PgBouncer as an operator should set it up in front of a database that restarts: its defaults
# refuse every query for up to 15 s after the database is back (server_login_retry), and hold
# a query that arrives as the database goes away for up to 120 s (query_wait_timeout).
FAST_FAILOVER = {"server_login_retry": "1", "query_wait_timeout": "5"}
# Bands whose popularity is not their number of fans: a join half written.
MISCOUNTED = (
    "SELECT band.id, band.popularity, COUNT(fan.id) AS fans FROM band "
    "LEFT JOIN fan ON fan.band = band.id GROUP BY band.id, band.popularity "
    "HAVING band.popularity != COUNT(fan.id)"
)


@dataclass(frozen=True)
class Databases:
    server: PostgresServer
    pooler: PgBouncer
    media: Path  # the sample data's photos

    @property
    def direct_url(self) -> str:
        return self.server.url(sslmode="require")

    @property
    def pooled_url(self) -> str:
        return self.pooler.url(sslmode="require")


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    reason = missing_prerequisites(pgbouncer=True)
    if reason is not None:
        skip_unless_ci(reason)
    media = tmp_path_factory.mktemp("media")
    with (
        PostgresServer(ssl=True) as server,
        PgBouncer(server, default_pool_size=4, settings=FAST_FAILOVER) as pooler,
    ):
        prepare_database(server.url(sslmode="require"), MEDIA_ROOT=str(media))
        yield Databases(server, pooler, media)


@contextlib.contextmanager
def serving_sample(databases: Databases, url: str, log: Path) -> Iterator[Server]:
    with serving(url, log, MEDIA_ROOT=str(databases.media)) as server:
        yield server


# ---------------------------------------------------------------- restarts under load


@dataclass(frozen=True)
class Fault:
    name: str
    affects: tuple[str, ...]  # the app instances that lose their database
    began: float  # just before the stop
    back: float  # the server accepts connections again


@dataclass
class Load:
    record: Record = field(default_factory=Record)
    attempted: dict[str, str] = field(default_factory=dict)  # e-mail → name
    acknowledged: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    ended: float = 0.0


async def _work(
    browser: Browser, load: Load, bands: list[int], number: int, stop: asyncio.Event
) -> None:
    rng = random.Random(number)
    sent = 0
    while not stop.is_set():
        roll = rng.random()
        if roll < 0.4:
            sent += 1
            email = f"fault-{number}-{sent}@example.com"
            name = f"Fault visitor {number} #{sent}"
            load.attempted[email] = name
            body = joining(email, name, rng.choice(bands))
            answer = await browser.request("join", "POST", "/api/fans", json=body)
            if answer.status == 201:
                load.acknowledged[email] = name
        elif roll < 0.8:
            path = rng.choice(["/api/albums", "/api/albums?page=2&page_size=5"])
            await browser.request("api", "GET", path)
        else:
            await browser.request("page", "GET", "/albums", headers={"accept": "text/html"})


async def _restart(
    load: Load,
    name: str,
    affects: tuple[str, ...],
    stop: Callable[[], object],
    start: Callable[[], object],
) -> None:
    began = time.monotonic()
    await asyncio.to_thread(stop)
    await asyncio.sleep(OUTAGE)
    await asyncio.to_thread(start)
    load.faults.append(Fault(name, affects, began, time.monotonic()))
    await asyncio.sleep(SETTLE)


async def _drive_through_faults(databases: Databases, direct: str, pooled: str) -> Load:
    bands = await asyncio.to_thread(_band_ids, databases)
    load = Load()
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=2 * WORKERS_PER_APP, keepalive_expiry=2.0)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        browsers = []
        for target in (direct, pooled):
            for number in range(WORKERS_PER_APP):
                browser = Browser(http, load.record, target, address=f"10.9.{number}.1")
                token = await browser.form_token("setup", "/login")  # no database needed
                assert token, f"no CSRF token from {target}/login"
                browser.csrf = token
                browsers.append(browser)
        workers = [
            asyncio.create_task(_work(browser, load, bands, number, stop))
            for number, browser in enumerate(browsers)
        ]
        try:
            await asyncio.sleep(WARM_UP)
            await _restart(
                load,
                "PostgreSQL restart",
                (direct, pooled),
                lambda: databases.server.stop("fast"),
                databases.server.start,
            )
            await _restart(
                load,
                "PgBouncer restart",
                (pooled,),
                databases.pooler.stop,
                databases.pooler.start,
            )
        finally:
            stop.set()
            await asyncio.gather(*workers)
            load.ended = time.monotonic()
    return load


def _band_ids(databases: Databases) -> list[int]:
    return [row["id"] for row in read_database(databases.direct_url, "SELECT id FROM band")]


def _ok(answer: Answer) -> bool:
    return answer.status is not None and 200 <= answer.status < 300


def _unavailable_properly(answer: Answer) -> bool:
    """A 503 as promised: Retry-After, and a clear body without internals."""
    if answer.status != 503 or answer.retry_after != str(RETRY_AFTER_SECONDS):
        return False
    if any(sign in answer.body for sign in TRACEBACK_SIGNS):
        return False
    if answer.kind == "page":
        return "Temporarily unavailable" in answer.body and DATABASE_UNAVAILABLE in answer.body
    body = json.loads(answer.body)
    return bool(body["status_code"] == 503 and body["detail"] == DATABASE_UNAVAILABLE)


@dataclass(frozen=True)
class Recovery:
    fault: str
    target: str
    unavailable: int  # 503s
    first_success: float  # seconds after the server's return
    steady: float  # seconds after the server's return to the end of the last 503


def _recoveries(load: Load) -> list[Recovery]:
    found = []
    ends = [fault.began for fault in load.faults[1:]] + [load.ended]
    for fault, window_end in zip(load.faults, ends, strict=True):
        for target in fault.affects:
            # What this fault answered: from its start to the next one's.
            window = [
                a
                for a in load.record.answers
                if a.target == target and fault.began <= a.started and a.ended < window_end
            ]
            failed = [a for a in window if not _ok(a)]
            successes = [a.ended for a in window if _ok(a) and a.ended >= fault.back]
            found.append(
                Recovery(
                    fault=fault.name,
                    target=target,
                    unavailable=len(failed),
                    first_success=min(successes, default=float("inf")) - fault.back,
                    steady=max([a.ended - fault.back for a in failed] + [0.0]),
                )
            )
    return found


def test_postgres_then_pgbouncer_restarted_under_load(
    databases: Databases, tmp_path: Path, figures: Figures
) -> None:
    with (
        serving_sample(databases, databases.direct_url, tmp_path / "direct.log") as direct,
        serving_sample(databases, databases.pooled_url, tmp_path / "pooled.log") as pooled,
    ):
        load = asyncio.run(_drive_through_faults(databases, direct.base, pooled.base))
        alive = [server.process.poll() is None for server in (direct, pooled)]
        logs = {server.base: _unavailable_log_lines(server) for server in (direct, pooled)}
    record = load.record
    names = {direct.base: "direct", pooled.base: "PgBouncer"}
    recoveries = _recoveries(load)
    unavailable = [a for a in record.answers if a.status == 503]
    unexpected = [a for a in record.answers if not _ok(a) and a.status != 503]
    improper = [a for a in unavailable if not _unavailable_properly(a)]
    outage_answers = [
        a
        for fault in load.faults
        for a in record.answers
        if fault.began <= a.started <= fault.back + RECOVERY_LIMIT
    ]
    slowest = max(a.seconds for a in record.answers)
    unlogged = [a for a in unavailable if a.request_id not in logs[a.target]]
    rows = read_database(
        databases.direct_url,
        "SELECT email, name, band, joined_at FROM fan WHERE email LIKE 'fault-%'",
    )
    stored = {row["email"]: row for row in rows}
    lost = sorted(set(load.acknowledged) - set(stored))
    foreign = sorted(set(stored) - set(load.attempted))
    incomplete = [
        row
        for row in rows
        if row["email"] in load.attempted
        and (row["name"] != load.attempted[row["email"]] or row["joined_at"] is None)
    ]
    miscounted = read_database(databases.direct_url, MISCOUNTED)

    figures.record(PART, "requests under load", len(record.answers), "2 app instances, 32 conn.")
    figures.record(PART, "faults survived", len(load.faults), "PostgreSQL, then PgBouncer")
    figures.record(PART, "503s during the outages", len(unavailable))
    figures.record(PART, "errors (500, transport, other)", len(unexpected))
    figures.record(PART, "slowest request s", slowest, f"limit {LATENCY_LIMIT:.0f} s")
    figures.record(
        PART, "slowest request during an outage s", max(a.seconds for a in outage_answers)
    )
    for recovery in recoveries:
        where = f"{recovery.fault}, {names[recovery.target]}"
        figures.record(PART, f"{where}: 503s", recovery.unavailable)
        figures.record(PART, f"{where}: first success s", recovery.first_success)
        figures.record(PART, f"{where}: recovered s", recovery.steady, "since the server's return")
    figures.record(PART, "joins acknowledged", len(load.acknowledged))
    figures.record(PART, "fan rows verified", len(rows), "none lost, none partial")
    figures.record(PART, "bands whose count of fans is off", len(miscounted), "one transaction")
    figures.record(
        PART, "writes stored though answered 503", len(set(stored) - set(load.acknowledged))
    )

    assert all(alive), "an app instance exited: it must recover without a restart"
    assert not unexpected, record.evidence(unexpected)
    assert not improper, record.evidence(improper)
    assert slowest <= LATENCY_LIMIT, sorted(record.answers, key=lambda a: -a.seconds)[:5]
    assert not unlogged, [a.sample() for a in unlogged[:5]]
    assert len(load.faults) == 2, load.faults
    for recovery in recoveries:
        assert recovery.unavailable > 0, f"no request met the outage: {recovery}"
        assert recovery.first_success <= RECOVERY_LIMIT, recovery
        assert recovery.steady <= RECOVERY_LIMIT, recovery
    assert not lost, f"acknowledged but not stored: {lost[:10]}"
    assert not foreign, foreign[:10]
    assert not incomplete, incomplete[:5]
    assert not miscounted, f"a fan without its count, or the reverse: {miscounted[:5]}"


def _unavailable_log_lines(server: Server) -> set[str]:
    """The request ids of the app's one-line "database unavailable" log records."""
    return {
        str(line.get("request_id"))
        for line in server.log_lines()
        if line.get("level") == "WARNING"
        and str(line.get("message", "")).startswith("database unavailable: ")
    }


# ---------------------------------------------------------------- starting without a database


def _until_ready(base: str, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if httpx.get(f"{base}/readyz", timeout=limit).status_code == 200:
            return time.monotonic() - started
        time.sleep(0.1)
    return float("inf")


def _timed_get(base: str, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    headers = {"accept": "text/html"} if not path.startswith(("/api/", "/readyz")) else {}
    response = httpx.get(base + path, headers=headers, timeout=60)
    return response, time.monotonic() - started


def test_started_while_the_database_is_down_turns_ready_when_it_returns(
    databases: Databases, tmp_path: Path, figures: Figures
) -> None:
    databases.server.stop("fast")
    running = False
    try:
        with contextlib.ExitStack() as stack:
            servers, came_up = {}, {}
            urls = {"direct": databases.direct_url, "PgBouncer": databases.pooled_url}
            for name, url in urls.items():
                started = time.monotonic()
                log = tmp_path / f"{name}.log"
                servers[name] = stack.enter_context(serving_sample(databases, url, log))
                came_up[name] = time.monotonic() - started
            paths = ("/healthz", "/readyz", "/api/albums", "/albums")
            down = {
                name: {path: _timed_get(server.base, path) for path in paths}
                for name, server in servers.items()
            }
            databases.server.start()
            running = True
            ready = {name: _until_ready(server.base, 30) for name, server in servers.items()}
            back = {
                name: [_timed_get(server.base, path)[0].status_code for path in paths]
                for name, server in servers.items()
            }
            alive = {name: server.process.poll() is None for name, server in servers.items()}
    finally:
        if not running:
            databases.server.start()

    for name in servers:
        where = f"started without the database, {name}"
        figures.record(PART, f"{where}: serving after s", came_up[name])
        figures.record(PART, f"{where}: slowest request s", max(t for _, t in down[name].values()))
        figures.record(PART, f"{where}: ready after s", ready[name], "since the server's return")
    for name in servers:
        answers = down[name]
        healthz, readyz = answers["/healthz"][0], answers["/readyz"][0]
        assert healthz.status_code == 200, (name, healthz.text)
        assert readyz.status_code == 503, (name, readyz.text)
        assert readyz.json()["status"] == "unavailable", (name, readyz.text)
        for path in ("/api/albums", "/albums"):
            answer, seconds = answers[path]
            assert answer.status_code == 503, (name, path, answer.text)
            assert answer.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
            assert DATABASE_UNAVAILABLE in answer.text, (name, path, answer.text)
            assert not any(sign in answer.text for sign in TRACEBACK_SIGNS), answer.text
            assert seconds <= LATENCY_LIMIT, (name, path, seconds)
        assert answers["/api/albums"][0].json()["status_code"] == 503
        assert "Temporarily unavailable" in answers["/albums"][0].text
        assert ready[name] <= RECOVERY_LIMIT, f"{name}: not ready {RECOVERY_LIMIT} s after"
        assert back[name] == [200, 200, 200, 200], (name, back[name])
        assert alive[name], f"{name}: the app exited"


# ---------------------------------------------------------------- SQLite: many writers


def test_sqlite_eight_writer_processes(tmp_path: Path, figures: Figures) -> None:
    url = f"sqlite:///{tmp_path}/writers.sqlite3"
    migrated = run_piccolo("migrations", "forwards", "all", database_url=url)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    environment = {**os.environ, "DATABASE_URL": url}
    prepared = subprocess.run(
        [sys.executable, "-m", "tests.stress.writers", "--prepare"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert prepared.returncode == 0, prepared.stderr
    start_at = time.time() + 3  # every process imported and waiting
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.stress.writers",
                f"--writer={writer}",
                f"--writes={WRITES}",
                f"--start-at={start_at}",
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for writer in range(WRITERS)
    ]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    errors = [error for result in results for error in result["errors"]]
    locked = [error for error in errors if "locked" in error]
    emails = [row["email"] for row in read_database(url, "SELECT email FROM fan")]
    expected = {writer_email(w, n) for w in range(WRITERS) for n in range(WRITES)}
    (band,) = read_database(url, f"SELECT popularity FROM band WHERE name = '{BAND}'")
    slowest = max(result["seconds"] for result in results)

    figures.record("SQLite writers", "writes", sum(r["done"] for r in results), "8 processes")
    figures.record("SQLite writers", '"database is locked"', len(locked))
    figures.record("SQLite writers", "errors", len(errors))
    figures.record("SQLite writers", "rows verified", len(emails), "and counted with them")
    figures.record("SQLite writers", "writes per second", WRITERS * WRITES / slowest)

    assert not errors, errors[:10]
    assert len(emails) == len(set(emails)) == WRITERS * WRITES
    assert set(emails) == expected
    # Each write counted its fan in the same transaction: no increment was lost to a race.
    assert band["popularity"] == WRITERS * WRITES
