"""Session-wide PostgreSQL and PgBouncer fixtures.

Use with `pytest_plugins = ["tests.support.postgres_fixtures"]` or
`from tests.support.postgres_fixtures import *` in a conftest.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support.mandatory import skip_unless_ci
from tests.support.postgres_servers import (
    Certificates,
    PgBouncer,
    PostgresServer,
    make_certificates,
    make_server_owned_dir,
    missing_prerequisites,
)

__all__ = ["certificates", "pgbouncer", "plain_postgres", "skip_if_missing", "tls_postgres"]


def skip_if_missing(*, pgbouncer: bool = False) -> None:
    """Skip, with the reason, when the servers cannot be started here (a failure in CI).
    Every fixture that starts one of its own calls it first."""
    reason = missing_prerequisites(pgbouncer=pgbouncer)
    if reason is not None:
        skip_unless_ci(reason)


@pytest.fixture(scope="session")
def certificates() -> Iterator[Certificates]:
    """A CA and a server certificate for `localhost` (not 127.0.0.1)."""
    skip_if_missing()
    # Not tmp_path_factory: its base is private to root, out of the server user's reach.
    directory = make_server_owned_dir("bandstand-certs-")
    try:
        yield make_certificates(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_postgres(certificates: Certificates) -> Iterator[PostgresServer]:
    """A PostgreSQL that accepts TCP clients only over TLS."""
    skip_if_missing()
    with PostgresServer(ssl=True, certificates=certificates) as server:
        yield server


@pytest.fixture(scope="session")
def plain_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL without TLS."""
    skip_if_missing()
    with PostgresServer(ssl=False) as server:
        yield server


@pytest.fixture(scope="session")
def pgbouncer(tls_postgres: PostgresServer) -> Iterator[PgBouncer]:
    """PgBouncer 1.18 in transaction mode, pool size 2, in front of `tls_postgres`."""
    skip_if_missing(pgbouncer=True)
    with PgBouncer(tls_postgres, default_pool_size=2) as bouncer:
        yield bouncer
