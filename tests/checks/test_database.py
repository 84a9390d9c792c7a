"""The database as the live connection shows it: reachable, encrypted, and a pooler in front.

Each test provokes its finding on a real server: the suite's TLS and plain PostgreSQL, the
PgBouncer in transaction mode in front of the TLS one, and a PgBouncer of its own whose only
server connection is held.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from bandstand.checks.database import check_postgres, pooler_finding
from bandstand.checks.findings import Level
from bandstand.checks.pooler import PoolerProbe, probe_transaction_pooler
from bandstand.database.url import PostgresDatabase, parse_database_url
from tests.checks.helpers import (
    PRODUCTION,
    CheckRun,
    forwarder,
    run_check,
    run_check_sync,
)
from tests.support.postgres_fixtures import skip_if_missing
from tests.support.postgres_servers import PgBouncer, PostgresServer, free_port

pytestmark = pytest.mark.engine_independent


def relayed(server: PostgresServer, host: str, port: int) -> str:
    """The server's URL, but at `host`:`port`, where a relay passes it on."""
    return f"postgresql://{server.user}:{server.password}@{host}:{port}/{server.database}"


def verified(server: PostgresServer | PgBouncer, **query: str) -> str:
    return server.url(sslmode="verify-full", sslrootcert=str(server.ca_cert), **query)


@pytest.fixture(scope="module")
def direct_tls(tls_postgres: PostgresServer) -> CheckRun:
    return run_check_sync(DATABASE_URL=verified(tls_postgres))


@pytest.fixture(scope="module")
def pooled_cache_off(pgbouncer: PgBouncer) -> CheckRun:
    return run_check_sync(DATABASE_URL=verified(pgbouncer))


@pytest.fixture(scope="module")
def pooled_cache_on(pgbouncer: PgBouncer) -> CheckRun:
    return run_check_sync(DATABASE_URL=verified(pgbouncer, statement_cache_size="100"))


async def test_an_unreachable_server_is_an_error_naming_the_host() -> None:
    port = free_port()
    run = await run_check(DATABASE_URL=f"postgresql://app:pw@127.0.0.1:{port}/app")

    assert run.level("database.E001") == "error"
    assert "ConnectionRefusedError" in run.findings["database.E001"].message
    assert f"127.0.0.1:{port}" in (run.findings["database.E001"].hint or "")
    # What needs the database is not checked against one that is not there.
    assert not [key for key in run.findings if key.startswith("migrations.")]
    assert run.returncode == 1


async def test_a_sqlite_file_that_cannot_be_opened_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    await anyio.Path(blocker).write_text("")

    run = await run_check(DATABASE_URL=f"sqlite:///{blocker}/db.sqlite3")

    assert run.level("database.E001") == "error"
    assert str(blocker) in (run.findings["database.E001"].hint or "")
    assert run.returncode == 1


def test_reachable_postgres_reports_its_version(direct_tls: CheckRun) -> None:
    assert direct_tls.level("database.I001") == "info"
    assert "database bandstand as bandstand" in direct_tls.findings["database.I001"].message


def test_the_live_connections_tls_version_is_reported(direct_tls: CheckRun) -> None:
    message = direct_tls.findings["database.I002"].message
    assert direct_tls.level("database.I002") == "info"
    assert "encrypted: TLSv1." in message
    assert "certificate and host name are verified" in message
    assert direct_tls.returncode == 0, direct_tls.explain()


def test_a_direct_server_is_no_pooler(direct_tls: CheckRun) -> None:
    assert direct_tls.level("database.I004") == "info"
    assert "each client connection kept its own server process" in (
        direct_tls.findings["database.I004"].message
    )


async def test_plaintext_over_loopback_is_only_noted(plain_postgres: PostgresServer) -> None:
    run = await run_check(DATABASE_URL=plain_postgres.url(host="127.0.0.1"))

    assert run.level("database.I003") == "info"
    assert run.returncode == 0, run.explain()


async def test_plaintext_to_another_machine_is_a_warning(
    plain_postgres: PostgresServer, remote_address: str
) -> None:
    async with forwarder(remote_address, plain_postgres.port) as port:
        # sslmode=prefer (the default) quietly settles for plaintext: what the check catches.
        run = await run_check(DATABASE_URL=relayed(plain_postgres, remote_address, port))

    assert run.level("database.W001") == "warning"
    assert f"{remote_address}:{port} is not encrypted" in run.findings["database.W001"].message
    assert run.returncode == 0, run.explain()


async def test_plaintext_to_another_machine_is_an_error_for_a_deploy(
    plain_postgres: PostgresServer, remote_address: str
) -> None:
    async with forwarder(remote_address, plain_postgres.port) as port:
        url = relayed(plain_postgres, remote_address, port)
        # That server's database is not migrated: silenced, so the one error is the plaintext.
        run = await run_check(
            "--deploy=true", "--silence=migrations.E001", **PRODUCTION, DATABASE_URL=url
        )

    assert run.level("database.E002") == "error"
    assert run.ids("error") == {"database.E002"}
    assert run.returncode == 1
    assert "1 silenced" in run.stdout


def test_a_pooler_with_the_cache_off_is_safe(pooled_cache_off: CheckRun) -> None:
    assert pooled_cache_off.level("database.I005") == "info"
    assert "database.E003" not in pooled_cache_off.findings
    # TLS is read from the client's own connection, here to PgBouncer.
    assert pooled_cache_off.level("database.I002") == "info"


def test_a_pooler_with_the_cache_on_is_an_error(pooled_cache_on: CheckRun) -> None:
    finding = pooled_cache_on.findings["database.E003"]
    assert pooled_cache_on.level("database.E003") == "error"
    assert "statement_cache_size=100" in finding.message
    assert "remove statement_cache_size" in (finding.hint or "")
    assert pooled_cache_on.returncode == 1


# ---------------------------------------------------------------- a pooler with no free server


@pytest.fixture(scope="module")
def one_server_pgbouncer(tls_postgres: PostgresServer) -> Iterator[PgBouncer]:
    skip_if_missing(pgbouncer=True)
    with PgBouncer(tls_postgres, default_pool_size=1) as bouncer:
        yield bouncer


async def connect_kwargs(url: str) -> dict[str, Any]:
    database = await anyio.to_thread.run_sync(parse_database_url, url)
    assert isinstance(database, PostgresDatabase)
    return {**database.connect_kwargs, "statement_cache_size": 0}


@pytest.fixture
async def held_pool(one_server_pgbouncer: PgBouncer) -> AsyncIterator[dict[str, Any]]:
    """The pooler's one server connection, held in a transaction; yields connect arguments."""
    kwargs = await connect_kwargs(one_server_pgbouncer.url(sslmode="require"))
    holder = await asyncpg.connect(**kwargs)
    try:
        await holder.execute("BEGIN")
        await holder.fetchval("SELECT 1")
        yield kwargs
    finally:
        holder.terminate()


async def probe_held_pool(kwargs: dict[str, Any]) -> tuple[PoolerProbe, float]:
    connections = [await asyncpg.connect(**kwargs), await asyncpg.connect(**kwargs)]
    started = time.monotonic()
    try:
        probe = await probe_transaction_pooler(connections, seconds=1.0)
    finally:
        for connection in connections:
            connection.terminate()
    return probe, time.monotonic() - started


async def test_an_unfinished_probe_with_the_cache_on_is_a_warning(
    held_pool: dict[str, Any],
) -> None:
    probe, elapsed = await probe_held_pool(held_pool)

    finding = pooler_finding(probe, cache_size=100)
    assert finding.id == "database.W002"
    assert finding.level is Level.WARNING
    assert "no answer within 1 s" in finding.message
    assert elapsed < 5


async def test_an_unfinished_probe_with_the_cache_off_is_only_noted(
    held_pool: dict[str, Any],
) -> None:
    probe, elapsed = await probe_held_pool(held_pool)

    finding = pooler_finding(probe, cache_size=0)
    assert finding.id == "database.I006"
    assert finding.level is Level.INFO
    assert elapsed < 5


async def test_the_check_never_hangs_on_a_pooler_with_no_free_server(
    held_pool: dict[str, Any],
) -> None:
    started = time.monotonic()
    report = await check_postgres(held_pool, deploy=False, seconds=1.0)

    assert time.monotonic() - started < 10
    assert not report.reachable
    assert [finding.id for finding in report.findings] == ["database.E001"]
    assert "got no answer within 1 s" in report.findings[0].message
