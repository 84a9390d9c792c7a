"""The database: reachable, and for PostgreSQL what the live connection really is.

PostgreSQL is probed on connections of its own, opened with the engine's connect arguments
and the statement cache off (so the probe itself works through any pooler), and always closed.
What is reported is read from the live connection, not from the URL: the TLS version and
cipher from the socket, a pooler from how server processes are handed out.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from bandstand.checks.findings import Finding
from bandstand.checks.network import format_peer, is_loopback_peer
from bandstand.checks.pooler import PoolerProbe, probe_transaction_pooler
from bandstand.database.errors import describe_connection_error

PROBE_TIMEOUT = 5.0
"""Seconds for each probe statement."""
MAX_CONNECT_TIMEOUT = 10.0
ASYNCPG_DEFAULT_STATEMENT_CACHE_SIZE = 100

REACHABLE = "database.I001"
UNREACHABLE = "database.E001"
ENCRYPTED = "database.I002"
PLAINTEXT_LOOPBACK = "database.I003"
PLAINTEXT = "database.W001"
PLAINTEXT_DEPLOY = "database.E002"
NO_POOLER = "database.I004"
POOLER_CACHE_OFF = "database.I005"
POOLER_CACHE_ON = "database.E003"
POOLER_UNKNOWN_CACHE_ON = "database.W002"
POOLER_UNKNOWN_CACHE_OFF = "database.I006"
IDS = (
    REACHABLE,
    UNREACHABLE,
    ENCRYPTED,
    PLAINTEXT_LOOPBACK,
    PLAINTEXT,
    PLAINTEXT_DEPLOY,
    NO_POOLER,
    POOLER_CACHE_OFF,
    POOLER_CACHE_ON,
    POOLER_UNKNOWN_CACHE_ON,
    POOLER_UNKNOWN_CACHE_OFF,
)

IDENTITY = (
    "SELECT current_setting('server_version') AS version, current_database() AS database, "
    "current_user AS user"
)


@dataclass(frozen=True)
class DatabaseReport:
    findings: list[Finding]
    reachable: bool


async def check_database(
    engine: Engine,  # type: ignore[type-arg]
    *,
    deploy: bool,
    seconds: float = PROBE_TIMEOUT,
) -> DatabaseReport:
    if isinstance(engine, PostgresEngine):
        return await check_postgres(engine.config, deploy=deploy, seconds=seconds)
    if isinstance(engine, SQLiteEngine):
        return await check_sqlite(engine, seconds=seconds)
    raise TypeError(f"no database checks for {type(engine).__name__}")


async def check_sqlite(engine: SQLiteEngine, *, seconds: float) -> DatabaseReport:
    path = Path(engine.path)
    try:
        with anyio.fail_after(seconds):
            version = (await engine.run_ddl("SELECT sqlite_version() AS version"))[0]["version"]
            journal = (await engine.run_ddl("PRAGMA journal_mode"))[0]["journal_mode"]
    except Exception as error:  # noqa: BLE001 - whatever stops it is the finding
        return DatabaseReport(
            [
                Finding(
                    UNREACHABLE,
                    f"cannot open the SQLite database {path}: {type(error).__name__}: {error}",
                    f"check DATABASE_URL, and that the folder {path.parent} exists and this "
                    "user can write to it",
                )
            ],
            reachable=False,
        )
    return DatabaseReport(
        [Finding(REACHABLE, f"SQLite {version} at {path} (journal mode {journal})")],
        reachable=True,
    )


async def check_postgres(
    config: Mapping[str, Any], *, deploy: bool, seconds: float = PROBE_TIMEOUT
) -> DatabaseReport:
    """Probe the server `config` (asyncpg.connect's arguments, as the engine has them) names."""
    where = _location(config)
    cache_size = int(config.get("statement_cache_size", ASYNCPG_DEFAULT_STATEMENT_CACHE_SIZE))
    connect_kwargs = {
        **config,
        "statement_cache_size": 0,
        "timeout": min(float(config.get("timeout", MAX_CONNECT_TIMEOUT)), MAX_CONNECT_TIMEOUT),
    }
    connections: list[Any] = []
    try:
        try:
            connections.append(await asyncpg.connect(**connect_kwargs))
        except Exception as error:  # noqa: BLE001 - whatever stops it is the finding
            return DatabaseReport([_unreachable(where, error)], reachable=False)
        try:
            identity = await connections[0].fetchrow(IDENTITY, timeout=seconds)
        except Exception as error:  # noqa: BLE001
            return DatabaseReport([_unanswered(where, error, seconds)], reachable=False)
        findings = [
            Finding(
                REACHABLE,
                f"PostgreSQL {identity['version'].split()[0]} at {where}, database "
                f"{identity['database']} as {identity['user']}",
            ),
            _tls_finding(connections[0], deploy=deploy),
        ]
        try:
            connections.append(await asyncpg.connect(**connect_kwargs))
            probe = await probe_transaction_pooler(connections, seconds=seconds)
        except Exception as error:  # noqa: BLE001 - an unfinished probe is reported as such
            probe = PoolerProbe(None, describe_connection_error(error))
        findings.append(pooler_finding(probe, cache_size))
        return DatabaseReport(findings, reachable=True)
    finally:
        for connection in connections:
            await _close(connection, seconds)


def _unreachable(where: str, error: BaseException) -> Finding:
    return Finding(
        UNREACHABLE,
        f"cannot connect to PostgreSQL at {where}: {describe_connection_error(error)}",
        f"check that the server at {where} is running and reachable from here, and "
        "DATABASE_URL's host, port, user, password and sslmode",
    )


def _unanswered(where: str, error: BaseException, seconds: float) -> Finding:
    if isinstance(error, TimeoutError):
        problem = f"a first query got no answer within {seconds:g} s"
    else:
        problem = f"a first query failed: {describe_connection_error(error)}"
    return Finding(
        UNREACHABLE,
        f"connected to PostgreSQL at {where}, but {problem}",
        "a pooler with no free server connection queues queries: check its pool size and "
        "what holds its connections; otherwise, the server's logs",
    )


def _tls_finding(connection: Any, *, deploy: bool) -> Finding:
    # asyncpg has no public accessor for its transport; the socket is the only place that
    # knows whether this connection is encrypted (the URL only says what was asked for).
    transport = connection._transport
    ssl_object = transport.get_extra_info("ssl_object")
    peer = transport.get_extra_info("peername")
    if ssl_object is not None:
        cipher, _, bits = ssl_object.cipher()
        return Finding(
            ENCRYPTED,
            f"the connection to {format_peer(peer)} is encrypted: {ssl_object.version()}, "
            f"{cipher} ({bits}-bit); {_verification(ssl_object.context)}",
        )
    if is_loopback_peer(peer):
        return Finding(
            PLAINTEXT_LOOPBACK,
            f"the connection to {format_peer(peer)} is not encrypted, but it stays on this machine",
        )
    finding_id = PLAINTEXT_DEPLOY if deploy else PLAINTEXT
    return Finding(
        finding_id,
        f"the connection to {format_peer(peer)} is not encrypted: queries, results and the "
        "login exchange cross the network in the clear",
        "turn TLS on at the server and use sslmode=verify-full&sslrootcert=<CA file> (at least "
        "sslmode=require) in DATABASE_URL; the default, prefer, falls back to plaintext "
        "without a word. On a network that is encrypted itself (WireGuard, Fly.io's private "
        f"network): --silence={finding_id}",
    )


def _verification(context: ssl.SSLContext) -> str:
    if context.verify_mode == ssl.CERT_NONE:
        return (
            "the server's certificate is not verified (sslmode=require or prefer), so it is "
            "not proven who answers"
        )
    if context.check_hostname:
        return "the server's certificate and host name are verified"
    return "the server's certificate is verified, its host name is not (sslmode=verify-ca)"


def pooler_finding(probe: PoolerProbe, cache_size: int) -> Finding:
    cache = f"statement_cache_size={cache_size}"
    if probe.transaction_pooler is None:
        if cache_size:
            return Finding(
                POOLER_UNKNOWN_CACHE_ON,
                "could not tell whether a transaction-mode pooler is in front "
                f"({probe.evidence}), and the statement cache is on ({cache}): behind such a "
                "pooler queries would fail",
                "run the check again while the database is idle; unless the connection is "
                "surely direct, remove statement_cache_size from DATABASE_URL (the default, 0, "
                "is safe everywhere)",
            )
        return Finding(
            POOLER_UNKNOWN_CACHE_OFF,
            "could not tell whether a transaction-mode pooler is in front "
            f"({probe.evidence}); the statement cache is off ({cache}), safe either way",
        )
    if not probe.transaction_pooler:
        note = "off" if not cache_size else "on, which is fine on a direct connection"
        return Finding(
            NO_POOLER,
            f"no transaction-mode pooler: {probe.evidence}; the statement cache is {note} "
            f"({cache})",
        )
    if cache_size:
        return Finding(
            POOLER_CACHE_ON,
            f"the statement cache is on ({cache}) behind a transaction-mode pooler "
            f"({probe.evidence}): queries fail at random with 'prepared statement … does not "
            "exist' or '… already exists'",
            "remove statement_cache_size from DATABASE_URL (the default, 0, is safe behind a "
            "pooler), or use the host's direct, non-pooled URL to keep the cache",
        )
    return Finding(
        POOLER_CACHE_OFF,
        f"a transaction-mode pooler is in front ({probe.evidence}); the statement cache is off "
        f"({cache}), as it must be",
    )


def _location(config: Mapping[str, Any]) -> str:
    # As asyncpg fills in what the URL left out: libpq's variables, then its defaults.
    host = config.get("host") or os.environ.get("PGHOST")
    port = config.get("port") or os.environ.get("PGPORT") or 5432
    if not host:
        return f"the local socket (port {port})"
    if str(host).startswith("/"):
        return f"the socket in {host} (port {port})"
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


async def _close(connection: Any, seconds: float) -> None:
    try:
        await connection.close(timeout=seconds)
    except Exception:  # noqa: BLE001 - one that won't close politely is dropped
        connection.terminate()
