"""Each sslmode against a real PostgreSQL that accepts only TLS, and one that has no TLS at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
import trustme

from bandstand.database.engine import create_engine
from bandstand.database.errors import describe_connection_error
from bandstand.database.url import DatabaseURLError
from bandstand.settings import load_settings
from tests.support.postgres_servers import PostgresServer

pytestmark = pytest.mark.engine_independent

SESSION_TLS = "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


async def session_tls(url: str) -> dict[str, Any]:
    """Connect through the app's own engine and ask the server how the session is protected."""
    settings = load_settings({"DATABASE_URL": url}, env_file=None)
    # Piccolo's engine constructor runs its (here empty) start-up checks through a thread pool
    # it waits on: build it off the event loop, as piccolo_conf does at import.
    engine = await anyio.to_thread.run_sync(create_engine, settings)
    rows = await engine.run_ddl(SESSION_TLS)
    return dict(rows[0])


async def connection_error(url: str) -> str:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - each case asserts its message
        await session_tls(url)
    return describe_connection_error(caught.value)


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"sslmode": "require"}, id="require"),
        pytest.param({}, id="prefer-by-default"),
        pytest.param({"ssl": "require"}, id="asyncpg-spelling"),
    ],
)
async def test_encrypting_modes_get_an_encrypted_session(
    tls_postgres: PostgresServer, query: dict[str, str]
) -> None:
    tls = await session_tls(tls_postgres.url(**query))
    assert tls["ssl"] is True
    assert tls["version"].startswith("TLSv1.")


async def test_verify_full_with_the_ca_connects(tls_postgres: PostgresServer) -> None:
    url = tls_postgres.url(sslmode="verify-full", sslrootcert=str(tls_postgres.ca_cert))
    assert (await session_tls(url))["ssl"] is True


async def test_require_with_a_ca_verifies_the_chain_but_not_the_name(
    tls_postgres: PostgresServer,
) -> None:
    # libpq: require + sslrootcert is verify-ca. The certificate names localhost, not the IP.
    url = tls_postgres.url(
        host="127.0.0.1", sslmode="require", sslrootcert=str(tls_postgres.ca_cert)
    )
    assert (await session_tls(url))["ssl"] is True


async def test_verify_full_against_a_name_not_in_the_certificate_fails_clearly(
    tls_postgres: PostgresServer,
) -> None:
    url = tls_postgres.url(
        host="127.0.0.1", sslmode="verify-full", sslrootcert=str(tls_postgres.ca_cert)
    )
    message = await connection_error(url)
    assert "certificate is not valid for '127.0.0.1'" in message
    assert "a name the certificate lists" in message


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


async def test_verify_full_against_another_ca_fails_clearly(
    tls_postgres: PostgresServer, other_ca: Path
) -> None:
    message = await connection_error(
        tls_postgres.url(sslmode="verify-full", sslrootcert=str(other_ca))
    )
    assert "certificate verify failed" in message
    assert "check that sslrootcert is the CA" in message


def test_verify_full_without_the_ca_stops_at_start_up(
    tls_postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.postgresql/root.crt to fall back on
    with pytest.raises(DatabaseURLError, match="sslmode=verify-full needs sslrootcert"):
        create_engine(
            load_settings({"DATABASE_URL": tls_postgres.url(sslmode="verify-full")}, env_file=None)
        )


async def test_disable_is_refused_by_a_tls_only_server(tls_postgres: PostgresServer) -> None:
    message = await connection_error(tls_postgres.url(sslmode="disable"))
    assert "no encryption" in message
    assert "use sslmode=require or stronger" in message


async def test_require_against_a_server_without_tls_fails_clearly(
    plain_postgres: PostgresServer,
) -> None:
    message = await connection_error(plain_postgres.url(sslmode="require"))
    assert "rejected SSL upgrade" in message
    assert "the server does not offer TLS" in message


async def test_prefer_falls_back_to_plaintext_on_a_server_without_tls(
    plain_postgres: PostgresServer,
) -> None:
    assert (await session_tls(plain_postgres.url()))["ssl"] is False
