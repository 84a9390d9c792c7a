"""Say what went wrong with a database connection, and what to change, in one line; and tell
an unavailable database (a 503: try again soon) from a query that failed (a 500: a bug).

The driver's own messages name the symptom ("rejected SSL upgrade", "no pg_hba.conf entry …
no encryption", "prepared statement … does not exist"); these add the cause in terms of
`DATABASE_URL`, for /readyz and the operator's logs.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
import ssl

import asyncpg

# A unique constraint refusing a row, as each driver says it: for the race between "is it
# taken?" and the insert.
UNIQUE_VIOLATIONS = (sqlite3.IntegrityError, asyncpg.UniqueViolationError)

_PREPARED_STATEMENT_ERRORS = (
    asyncpg.exceptions.InvalidSQLStatementNameError,
    asyncpg.exceptions.DuplicatePreparedStatementError,
)


def describe_connection_error(error: BaseException) -> str:
    detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    hint = _hint(error)
    return f"{detail} — {hint}" if hint else detail


def _hint(error: BaseException) -> str | None:
    message = str(error)
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            "the server's TLS certificate was not accepted: check that sslrootcert is the CA "
            "that signed it and that the URL's host is a name the certificate lists "
            "(sslmode=verify-ca checks the CA without the name)"
        )
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError) and (
        "no encryption" in message
    ):
        return "the server accepts only TLS connections: use sslmode=require or stronger"
    if isinstance(error, ConnectionError) and "rejected SSL upgrade" in message:
        return (
            "the server does not offer TLS but the URL's sslmode requires it: turn TLS on at "
            "the server, or use sslmode=prefer on a network you trust"
        )
    if isinstance(error, _PREPARED_STATEMENT_ERRORS):
        return (
            "a transaction-mode pooler (PgBouncer, Supavisor, a PaaS proxy) is in front and "
            "prepared statements are cached: remove statement_cache_size from DATABASE_URL "
            "(the default, 0, is safe)"
        )
    if isinstance(error, asyncpg.InvalidPasswordError):
        return "the user name or password in DATABASE_URL is wrong"
    if isinstance(error, TimeoutError):
        return "no answer within the connect timeout (connect_timeout in DATABASE_URL)"
    if isinstance(error, ConnectionRefusedError):
        return "nothing listens at that host and port"
    return None


# What a database restart, a pooler restart, a network cut or an overloaded server raise, as
# opposed to a query the database refused.
_UNAVAILABLE_POSTGRES_ERRORS = (
    # Class 08: connection refused, lost mid-query, or refused by a pooler ("server login has
    # been failing", "query_wait_timeout").
    asyncpg.PostgresConnectionError,
    # 57P01-57P03: the server is stopping, crashed, or still starting up.
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    # Class 53: too many connections, out of memory or disk.
    asyncpg.exceptions.InsufficientResourcesError,
    # Class 28: the server refuses the credentials: no request can be served until an operator
    # fixes DATABASE_URL (the log line says how), which is unavailability, not a bug.
    asyncpg.InvalidAuthorizationSpecificationError,
)
UNAVAILABLE_ERROR_TYPES: tuple[type[Exception], ...] = (
    *_UNAVAILABLE_POSTGRES_ERRORS,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    sqlite3.OperationalError,
    OSError,  # with ConnectionError, TimeoutError, ssl.SSLError and socket.gaierror
)
"""The exception types `is_unavailable` may say yes to (for registering a handler)."""

_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EADDRNOTAVAIL,
    }
)
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
)
_CLOSED_CONNECTION = ("connection is closed", "connection has been released back to the pool")
_ABANDONED_CONNECTION = "another operation (2) is in progress"
_DATABASE_MODULES = ("asyncpg", "aiosqlite", "sqlite3", "piccolo.engine", "bandstand.database")


def is_unavailable(error: BaseException) -> bool:
    """True when `error` says the database cannot serve right now — down, restarting, behind a
    pooler that cannot reach it, locked past the busy timeout — rather than that a query or the
    code is wrong. Such a request deserves a 503 and a retry, not a 500 and a bug report."""
    if isinstance(error, _UNAVAILABLE_POSTGRES_ERRORS):
        return True
    if isinstance(error, asyncpg.InterfaceError):
        # A connection the server cut: "connection is closed" (also from a transaction's
        # rollback), and, for a pooled one, "connection has been released back to the pool" —
        # the pool takes a lost connection back at once, so a transaction's next statement says
        # that.
        return str(error).endswith(_CLOSED_CONNECTION)
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        # A pooled connection the server cut while no request held it ("terminating connection
        # due to administrator command", sent at a restart) is left by asyncpg in its
        # error-consuming state (2) until the socket's close is seen; a request that takes it
        # from the pool in between gets this.
        return str(error).endswith(_ABANDONED_CONNECTION)
    if isinstance(error, sqlite3.OperationalError):
        return str(error).lower().startswith(_SQLITE_UNAVAILABLE)
    if isinstance(error, OSError):
        # A network failure, but only on the way to the database: the same error from another
        # service the app calls is that service's, and stays a 500.
        return _is_network_failure(error) and _raised_in_database_code(error)
    return False


def _is_network_failure(error: OSError) -> bool:
    if isinstance(error, ConnectionError | TimeoutError | ssl.SSLError | socket.gaierror):
        return True
    # asyncio joins the failures for each address of a host name into one errno-less OSError.
    return error.errno in _NETWORK_ERRNOS or str(error).startswith("Multiple exceptions:")


def _raised_in_database_code(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_DATABASE_MODULES):
            return True
        traceback = traceback.tb_next
    return False
