"""The pairs of engines each conformance test runs on (`backend`), and their databases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from bandstand.database.postgres import PoolerSafePostgresEngine
from bandstand.database.url import PostgresDatabase, parse_database_url
from tests.conformance.harness import BACKENDS, Backend, PostgresBackend, SQLiteBackend
from tests.support.postgres_fixtures import skip_if_missing
from tests.support.postgres_servers import PgBouncer, PostgresServer

POOL_MAX = 5


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test makes its own databases: once, in the SQLite pass, is enough.
    for item in items:
        if item.nodeid.startswith("tests/conformance/"):
            item.add_marker(pytest.mark.engine_independent)


class AnyDatabaseBouncer(PgBouncer):
    """PgBouncer as the suite's (transaction mode, 2 server connections, TLS both sides), also
    serving any other database of the server under its own name."""

    def _config(self, base: Path, log: Path) -> str:
        fallback = f"* = host=localhost port={self.server.port}\n"
        return super()._config(base, log).replace("[databases]\n", "[databases]\n" + fallback)


@dataclass(frozen=True)
class Databases:
    """A database of its own for each engine of the PostgreSQL pairs, by URL."""

    direct: dict[str, str]
    pooled: dict[str, str]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _create_databases(server: PostgresServer, names: list[str]) -> None:
    connection = await asyncpg.connect(
        host=str(server.socket_dir), port=server.port, user="postgres", database="postgres"
    )
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}" OWNER "{server.user}"')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def conformance_bouncer(tls_postgres: PostgresServer) -> Iterator[PgBouncer]:
    skip_if_missing(pgbouncer=True)
    with AnyDatabaseBouncer(tls_postgres, default_pool_size=2) as bouncer:
        yield bouncer


@pytest.fixture(scope="session")
def conformance_databases(
    tls_postgres: PostgresServer, conformance_bouncer: PgBouncer
) -> Databases:
    direct = {side: f"conformance_{side}" for side in ("stock", "ours", "ours_cached")}
    pooled = {side: f"conformance_pooled_{side}" for side in ("stock", "ours")}
    asyncio.run(_create_databases(tls_postgres, [*direct.values(), *pooled.values()]))
    tls = {"sslmode": "verify-full", "sslrootcert": str(tls_postgres.ca_cert)}
    return Databases(
        direct={
            side: with_database(tls_postgres.url(**tls), name) for side, name in direct.items()
        },
        pooled={
            side: with_database(conformance_bouncer.url(**tls), name)
            for side, name in pooled.items()
        },
    )


def _parse(url: str) -> PostgresDatabase:
    database = parse_database_url(url)
    assert isinstance(database, PostgresDatabase)
    return database


def stock_engine(url: str, *, statement_cache_size: int | None) -> PostgresEngine:
    """Piccolo's engine as its docs make it, on `url`; asyncpg's own statement cache unless
    `statement_cache_size` is given. Made outside the event loop: it connects as it is made."""
    config = dict(_parse(url).connect_kwargs)
    config.pop("statement_cache_size")
    if statement_cache_size is not None:
        config["statement_cache_size"] = statement_cache_size
    return PostgresEngine(config=config)


def our_engine(url: str) -> PoolerSafePostgresEngine:
    return PoolerSafePostgresEngine(_parse(url), pool_min=0, pool_max=POOL_MAX)


@pytest.fixture(scope="session")
def postgres_backends(conformance_databases: Databases) -> dict[str, PostgresBackend]:
    direct, pooled = conformance_databases.direct, conformance_databases.pooled
    stock_direct = stock_engine(direct["stock"], statement_cache_size=None)
    return {
        "postgres": PostgresBackend("postgres", stock_direct, our_engine(direct["ours"])),
        "postgres-cached": PostgresBackend(
            "postgres-cached",
            stock_direct,
            our_engine(direct["ours_cached"] + "&statement_cache_size=100"),
        ),
        "pgbouncer": PostgresBackend(
            "pgbouncer",
            stock_engine(pooled["stock"], statement_cache_size=0),
            our_engine(pooled["ours"] + "&pgbouncer=true"),
        ),
    }


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """One pair of engines: Piccolo's stock one and Bandstand's, on the same kind of database."""
    if request.param == "sqlite":
        return SQLiteBackend(tmp_path)
    backends: dict[str, PostgresBackend] = request.getfixturevalue("postgres_backends")
    return backends[request.param]


@pytest.fixture(params=[name for name in BACKENDS if name != "sqlite"])
def schema_change_pair(
    request: pytest.FixtureRequest, conformance_databases: Databases
) -> PostgresBackend:
    """One of the PostgreSQL pairs, for what a migration does to queries: the stock engine
    against Bandstand's with the cache off has its cache off too, describing every query afresh
    — the behaviour to match; with asyncpg's cache, a transaction fails (asyncpg's own rule)."""
    backends: dict[str, PostgresBackend] = request.getfixturevalue("postgres_backends")
    if request.param != "postgres":
        return backends[request.param]
    stock = stock_engine(conformance_databases.direct["stock"], statement_cache_size=0)
    return PostgresBackend("postgres", stock, backends["postgres"].ours)


@pytest.fixture
def app_database_urls(conformance_databases: Databases) -> dict[str, str]:
    """Bandstand's own database URLs, as a site's DATABASE_URL: direct, and through PgBouncer."""
    return {
        "postgres": conformance_databases.direct["ours"],
        "pgbouncer": conformance_databases.pooled["ours"] + "&pgbouncer=true",
    }
