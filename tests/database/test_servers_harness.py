"""The PostgreSQL/PgBouncer harness does what the other tests count on, checked with raw asyncpg."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.support.postgres_servers import PgBouncer, PostgresServer

# As a plugin, not an import: registered once by name, so this stays harmless when a
# conftest.py loads the same fixtures.
pytest_plugins = ["tests.support.postgres_fixtures"]

pytestmark = pytest.mark.engine_independent


def verifying_context(ca_cert: Path) -> ssl.SSLContext:
    # The default context is verify-full: chain and hostname.
    return ssl.create_default_context(cafile=str(ca_cert))


async def connect(
    target: PostgresServer | PgBouncer, *, host: str = "localhost", **options: Any
) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=target.database,
        **options,
    )


async def test_tls_postgres_accepts_a_verified_tls_connection(tls_postgres: PostgresServer) -> None:
    assert tls_postgres.ca_cert is not None
    connection = await connect(tls_postgres, ssl=verifying_context(tls_postgres.ca_cert))
    try:
        in_tls = await connection.fetchval(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )
        owner = await connection.fetchval(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    assert in_tls is True
    assert owner == "bandstand"


async def test_tls_postgres_refuses_plaintext(tls_postgres: PostgresServer) -> None:
    with pytest.raises(asyncpg.exceptions.InvalidAuthorizationSpecificationError) as refused:
        await connect(tls_postgres, ssl=False)
    assert "pg_hba.conf" in str(refused.value)
    assert "no encryption" in str(refused.value)


async def test_certificate_is_for_localhost_not_the_ip(tls_postgres: PostgresServer) -> None:
    assert tls_postgres.ca_cert is not None
    with pytest.raises(ssl.SSLCertVerificationError, match=r"127\.0\.0\.1"):
        await connect(tls_postgres, host="127.0.0.1", ssl=verifying_context(tls_postgres.ca_cert))


async def test_plain_postgres_serves_without_tls(plain_postgres: PostgresServer) -> None:
    assert plain_postgres.ca_cert is None
    connection = await connect(plain_postgres, ssl=False)
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()


def test_url_encodes_its_query(tls_postgres: PostgresServer) -> None:
    url = tls_postgres.url(host="127.0.0.1", sslmode="verify-full", sslrootcert="/a b/ca.pem")
    assert url == (
        f"postgresql://bandstand:bandstand-pw@127.0.0.1:{tls_postgres.port}/bandstand"
        "?sslmode=verify-full&sslrootcert=%2Fa+b%2Fca.pem"
    )


async def test_pgbouncer_serves_many_clients_without_statement_cache(
    pgbouncer: PgBouncer,
) -> None:
    context = verifying_context(pgbouncer.ca_cert)

    async def client(number: int) -> int:
        connection = await connect(pgbouncer, ssl=context, statement_cache_size=0)
        try:
            total = 0
            for _ in range(5):
                total += await connection.fetchval("SELECT $1::int + 1", number)
            return total
        finally:
            await connection.close()

    results = await asyncio.gather(*(client(number) for number in range(50)))
    assert results == [5 * (number + 1) for number in range(50)]


async def test_pgbouncer_breaks_asyncpgs_statement_cache(pgbouncer: PgBouncer) -> None:
    """The control experiment: without statement_cache_size=0 the cached statements break.

    Four clients share two server connections, so a client's next transaction often lands
    on a server connection where its named prepared statement does not exist — or, when an
    earlier process left a statement of the same name there, runs that one: a wrong answer.
    """
    context = verifying_context(pgbouncer.ca_cert)
    connections = [await connect(pgbouncer, ssl=context) for _ in range(4)]

    async def hammer(connection: asyncpg.Connection) -> BaseException | None:
        for number in range(300):
            try:
                answer = await connection.fetchval("SELECT $1::int * 2", number)
            except (asyncpg.PostgresError, asyncpg.ProtocolError) as error:
                # ProtocolError: a stranger's statement of the same name returned other columns.
                failure: BaseException = error
                return failure
            if answer != number * 2:
                return AssertionError(f"a stranger's prepared statement answered {answer!r}")
        return None

    try:
        errors = await asyncio.gather(*(hammer(connection) for connection in connections))
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    # Missing, duplicate, or a stranger's statement of the same name run in its place (with
    # other parameters or columns, or decoding our parameter as its own): any database error
    # shows it, as the same query through the same pooler never fails with the cache off.
    failures = [error for error in errors if error is not None]
    assert failures, errors
