"""One ``DATABASE_URL`` in, what the engine needs out.

``sqlite:///relative.db`` and ``sqlite:////absolute.db`` name a SQLite file; ``postgresql://``
URLs, in the shapes PaaS dashboards and other stacks hand out, become keyword arguments for
``asyncpg.connect()`` with libpq's meaning. Everything is checked here, at start-up, so that a
wrong URL fails with one clear line instead of a connection error later.
"""

import getpass
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from ssl import SSLContext
from typing import Any
from urllib.parse import unquote

from asyncpg import connect_utils

from bandstand.database.ssl import SSL_MODES, SYSTEM_ROOTCERT, ssl_for

__all__ = (
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_STATEMENT_CACHE_SIZE",
    "DatabaseURLError",
    "PostgresDatabase",
    "SQLiteDatabase",
    "parse_database_url",
)

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a connection; asyncpg's own 60 lets a silent database hang start-up."""

DEFAULT_STATEMENT_CACHE_SIZE = 0
"""Prepared statements break behind PgBouncer, Supavisor and PaaS proxies in transaction mode.

A direct connection may opt in with ``?statement_cache_size=100``.
"""

SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+aiosqlite"})
POSTGRES_SCHEMES = frozenset(
    # Driver suffixes are accepted because URLs get pasted from SQLAlchemy-based stacks.
    f"{name}{driver}"
    for name in ("postgres", "postgresql")
    for driver in ("", "+asyncpg", "+psycopg", "+psycopg2")
)

PARAMETERS = frozenset(
    {
        "application_name",
        "channel_binding",
        "connect_timeout",
        "host",
        "options",
        "pgbouncer",
        "ssl",
        "sslcert",
        "sslcrl",
        "sslkey",
        "sslmode",
        "sslrootcert",
        "statement_cache_size",
        "target_session_attrs",
    }
)
"""The only query parameters accepted. asyncpg would send any other one to the server as a
run-time setting, which PgBouncer refuses."""

TARGET_SESSION_ATTRS = ("any", "primary", "standby", "prefer-standby", "read-write", "read-only")

# asyncpg's ssl=True (like node-postgres' ssl=true) verifies the server against the OS trust
# store; reading it as libpq's "require" would silently drop the verification that was asked for.
_SSL_BOOLEANS = {"true": "verify-full", "false": "disable"}
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")


class DatabaseURLError(ValueError):
    """``DATABASE_URL`` cannot be used. The message is one line and never contains the password."""


@dataclass(frozen=True)
class SQLiteDatabase:
    path: Path
    """As given: a relative path is resolved by the caller, against the working directory."""


@dataclass(frozen=True)
class PostgresDatabase:
    connect_kwargs: dict[str, Any] = field(repr=False)  # holds the password
    """Keyword arguments for ``asyncpg.connect()`` and ``asyncpg.create_pool()``."""
    redacted_url: str
    """The URL with the password replaced by ``***``, for logs and error messages."""


def parse_database_url(url: str) -> SQLiteDatabase | PostgresDatabase:
    """Parse ``DATABASE_URL``.

    Raises:
        DatabaseURLError: On anything that is not a usable SQLite or PostgreSQL URL.
    """
    scheme, separator, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if separator and scheme in SQLITE_SCHEMES:
        return _sqlite(rest)
    if separator and scheme in POSTGRES_SCHEMES:
        return _postgres(scheme, rest)
    accepted = ", ".join(sorted(SQLITE_SCHEMES | POSTGRES_SCHEMES))
    # Only echo what is surely a scheme: without "://" the text may be credentials.
    if separator and _SCHEME.fullmatch(scheme):
        raise DatabaseURLError(
            f"DATABASE_URL scheme {scheme!r} is not supported; accepted: {accepted}"
        )
    raise DatabaseURLError(f"DATABASE_URL must start with a scheme and '://'; accepted: {accepted}")


def _sqlite(rest: str) -> SQLiteDatabase:
    location, _, query = rest.partition("?")
    if location.strip("/") in {"", ":memory:"}:
        raise DatabaseURLError(
            "SQLite DATABASE_URL needs a file path, e.g. sqlite:///db.sqlite3 (an in-memory "
            "database would be a different, empty one on every connection)"
        )
    if not location.startswith("/"):
        raise DatabaseURLError(
            "SQLite DATABASE_URL must not name a host; use sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db"
        )
    if query:
        raise DatabaseURLError(f"SQLite DATABASE_URL takes no parameters; remove '?{query}'")
    return SQLiteDatabase(path=Path(unquote(location[1:])))


def _postgres(scheme: str, rest: str) -> PostgresDatabase:
    # Split by hand rather than with urllib: the last "@" ends the credentials, so an
    # unencoded "@", ":" or "/" in a password still parses instead of leaking into the host.
    before_query, _, query = rest.partition("?")
    userinfo, at, location = before_query.rpartition("@")
    if "@" in query and not at:
        # The credentials' "@" is past a "?": a password with an unencoded "?".
        raise DatabaseURLError(
            "DATABASE_URL has an '@' after the '?'; percent-encode special characters in the "
            "password and parameters (? as %3F, @ as %40)"
        )
    if "#" in location or "#" in query:
        raise DatabaseURLError("DATABASE_URL must not contain '#'; percent-encode it as %23")
    raw_user, _, raw_password = userinfo.partition(":")
    hostport, _, raw_database = location.partition("/")
    netloc_host, port = _host_and_port(hostport)
    parameters = _parameters(query)
    _check_channel_binding(parameters)

    host = parameters.get("host") or None
    if host is not None and netloc_host is not None:
        raise DatabaseURLError("DATABASE_URL gives the host twice, before the path and as ?host=")
    if host is not None and "," in host:
        raise DatabaseURLError("DATABASE_URL host: multiple hosts are not supported")

    server_settings = {
        name: parameters[name] for name in ("application_name", "options") if name in parameters
    }
    connect_kwargs = {
        "host": host or netloc_host,
        "port": port,
        "user": unquote(raw_user) or None,
        "password": unquote(raw_password) or None,
        "database": unquote(raw_database) or None,
        "ssl": _ssl(parameters),
        "statement_cache_size": _statement_cache_size(parameters),
        "server_settings": server_settings or None,
        "target_session_attrs": _target_session_attrs(parameters),
        "timeout": _timeout(parameters),
    }

    if "password" not in connect_kwargs or connect_kwargs["password"] is None:
        connect_kwargs["password"] = _password_from_environment(connect_kwargs)

    shown_userinfo = f"{raw_user}:***@" if raw_password else f"{userinfo}{at}"
    redacted_url = f"{scheme}://{shown_userinfo}{location}{'?' if query else ''}{query}"
    return PostgresDatabase(
        # Left out keys get libpq's defaults from asyncpg: PGHOST or the socket, 5432, ...
        connect_kwargs={key: value for key, value in connect_kwargs.items() if value is not None},
        redacted_url=redacted_url,
    )


def _password_from_environment(connect_kwargs: dict[str, Any]) -> str:
    """libpq's PGPASSWORD, then its password file, looked up once, here.

    asyncpg would otherwise read ~/.pgpass on every new connection, on the event loop. An empty
    password makes it skip that read; servers that trust the client never ask for one.
    """
    if password := os.environ.get("PGPASSWORD"):
        return password
    user = connect_kwargs.get("user") or os.environ.get("PGUSER") or getpass.getuser()
    host = connect_kwargs.get("host") or os.environ.get("PGHOST") or "localhost"
    passfile = os.environ.get("PGPASSFILE") or Path.home() / ".pgpass"
    found = connect_utils._read_password_from_pgpass(
        passfile=Path(passfile),
        hosts=["localhost" if host.startswith("/") else host],
        ports=[connect_kwargs.get("port") or int(os.environ.get("PGPORT", "5432"))],
        database=connect_kwargs.get("database") or os.environ.get("PGDATABASE") or user,
        user=user,
    )
    return found or ""


def _host_and_port(hostport: str) -> tuple[str | None, int | None]:
    if hostport.startswith("["):
        host, bracket, after = hostport[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise DatabaseURLError("DATABASE_URL host: write an IPv6 address as [::1]:5432")
        port = after[1:]
    elif "," in hostport:
        raise DatabaseURLError("DATABASE_URL host: multiple hosts are not supported")
    else:
        host, _, port = hostport.partition(":")
    # The value is not echoed: in a malformed URL it may be a piece of the password.
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise DatabaseURLError("DATABASE_URL port must be a number from 1 to 65535")
    # Percent-decoded so that a socket directory can be the host: postgresql://%2Ftmp/db
    return unquote(host) or None, int(port) if port else None


def _parameters(query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        raw_name, equals, raw_value = pair.partition("=")
        name = unquote(raw_name)
        if name not in PARAMETERS:
            accepted = ", ".join(sorted(PARAMETERS))
            raise DatabaseURLError(f"unknown DATABASE_URL parameter {name!r}; accepted: {accepted}")
        if name in parameters:
            raise DatabaseURLError(f"DATABASE_URL parameter {name!r} is given more than once")
        if not equals:
            raise DatabaseURLError(f"DATABASE_URL parameter {name!r} needs a value: {name}=...")
        # As libpq: "+" stays a plus sign; a space is %20.
        parameters[name] = unquote(raw_value)
    return parameters


def _ssl(parameters: dict[str, str]) -> SSLContext | str | bool:
    sslmode = parameters.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise DatabaseURLError(
            f"DATABASE_URL sslmode {sslmode!r} is not supported; accepted: {', '.join(SSL_MODES)}"
        )
    if "ssl" in parameters:
        value = parameters["ssl"]
        from_ssl = _SSL_BOOLEANS.get(value.lower(), value)
        if from_ssl not in SSL_MODES:
            raise DatabaseURLError(
                f"DATABASE_URL ssl {value!r} is not supported; "
                f"accepted: true, false, {', '.join(SSL_MODES)}"
            )
        if sslmode is not None and sslmode != from_ssl:
            raise DatabaseURLError(
                f"DATABASE_URL sslmode={sslmode} and ssl={value} disagree; give only sslmode"
            )
        sslmode = from_ssl
        if value.lower() == "true":
            parameters.setdefault("sslrootcert", SYSTEM_ROOTCERT)
    if sslmode is None:
        # libpq's default; with the OS trust store only verify-full means anything.
        system = parameters.get("sslrootcert") == SYSTEM_ROOTCERT
        sslmode = "verify-full" if system else "prefer"
    try:
        # Built once, here: this is start-up, not a request path.
        return ssl_for(
            sslmode,
            rootcert=parameters.get("sslrootcert"),
            cert=parameters.get("sslcert"),
            key=parameters.get("sslkey"),
            crl=parameters.get("sslcrl"),
        )
    except ValueError as error:
        raise DatabaseURLError(f"DATABASE_URL {error}") from None


def _statement_cache_size(parameters: dict[str, str]) -> int:
    pgbouncer = parameters.get("pgbouncer", "false")
    if pgbouncer not in {"true", "false"}:
        raise DatabaseURLError(
            f"DATABASE_URL pgbouncer {pgbouncer!r} is not supported; accepted: true, false"
        )
    value = parameters.get("statement_cache_size")
    if value is None:
        return DEFAULT_STATEMENT_CACHE_SIZE
    if not (value.isascii() and value.isdigit()):
        raise DatabaseURLError(
            f"DATABASE_URL statement_cache_size must be a non-negative integer, got {value!r}"
        )
    if pgbouncer == "true" and int(value) > 0:
        raise DatabaseURLError(
            "DATABASE_URL pgbouncer=true needs statement_cache_size=0: prepared statements "
            f"break behind PgBouncer in transaction mode (got statement_cache_size={value})"
        )
    return int(value)


def _target_session_attrs(parameters: dict[str, str]) -> str | None:
    value = parameters.get("target_session_attrs")
    if value is not None and value not in TARGET_SESSION_ATTRS:
        raise DatabaseURLError(
            f"DATABASE_URL target_session_attrs {value!r} is not supported; "
            f"accepted: {', '.join(TARGET_SESSION_ATTRS)}"
        )
    return value


def _timeout(parameters: dict[str, str]) -> float:
    value = parameters.get("connect_timeout")
    if value is None:
        return DEFAULT_CONNECT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    # libpq reads 0 as "wait forever", the very hang the default timeout is there to prevent.
    if not (seconds > 0 and math.isfinite(seconds)):
        raise DatabaseURLError(
            f"DATABASE_URL connect_timeout must be a positive number of seconds, got {value!r}"
        )
    return seconds


def _check_channel_binding(parameters: dict[str, str]) -> None:
    value = parameters.get("channel_binding", "prefer")
    if value == "require":
        raise DatabaseURLError(
            "DATABASE_URL channel_binding=require cannot be honoured: asyncpg does not support "
            "channel binding (SCRAM-SHA-256-PLUS); change it to channel_binding=prefer to "
            "connect without it"
        )
    # prefer is satisfied without binding, as libpq does when the server offers none.
    if value not in {"disable", "prefer"}:
        raise DatabaseURLError(
            f"DATABASE_URL channel_binding {value!r} is not supported; accepted: disable, prefer"
        )
