"""Say what went wrong with a database connection, and what to change, in one line.

The driver's own messages name the symptom ("rejected SSL upgrade", "no pg_hba.conf entry …
no encryption", "prepared statement … does not exist"); these add the cause in terms of
`DATABASE_URL`, for /readyz and the operator's logs.
"""

from __future__ import annotations

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
