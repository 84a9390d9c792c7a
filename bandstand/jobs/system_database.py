"""Where the queue keeps its jobs: `JOBS_DATABASE_URL`, or a place derived from `DATABASE_URL`.

DBOS reaches its database with SQLAlchemy and psycopg, not asyncpg, so the URL is turned into
libpq's terms here, from the one `DATABASE_URL` the rest of the site reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from bandstand.database.url import SQLiteDatabase, parse_database_url

if TYPE_CHECKING:
    import sqlalchemy

    from bandstand.settings import Settings

# Parameters of a Bandstand URL that mean nothing to libpq (asyncpg's statement cache) or that
# libpq spells differently (ssl).
_NOT_LIBPQ = frozenset({"pgbouncer", "statement_cache_size", "ssl"})


@dataclass(frozen=True)
class SystemDatabase:
    url: str
    """For SQLAlchemy: `sqlite:////abs/path` or `postgresql+psycopg://…` (holds the password)."""
    redacted: str
    """For messages."""

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def engine(self, pool_size: int) -> sqlalchemy.Engine:
        """An engine that works through a transaction-mode pooler: psycopg prepares a statement
        on its fifth run unless told not to, and PgBouncer hands the next transaction another
        server connection, where that statement does not exist."""
        import sqlalchemy

        return sqlalchemy.create_engine(
            self.url,
            connect_args={"prepare_threshold": None},
            pool_size=pool_size,
            max_overflow=0,
            pool_pre_ping=True,
            pool_timeout=30,
        )


def system_database(settings: Settings) -> SystemDatabase:
    url = settings.jobs_database_url or settings.database_url
    database = parse_database_url(url)
    if isinstance(database, SQLiteDatabase):
        path = settings.root / database.path  # unless absolute; as the site's engine reads it
        if not settings.jobs_database_url:  # its own file: the app's writers never wait on it
            path = path.with_name(f"{path.stem}-jobs{path.suffix}")
        return SystemDatabase(url=f"sqlite:///{path}", redacted=f"sqlite:///{path}")
    return SystemDatabase(url=libpq_url(url), redacted=database.redacted_url)


def libpq_url(url: str) -> str:
    """A PostgreSQL URL checked by `parse_database_url`, in psycopg's terms: `ssl=` becomes
    `sslmode=`, and asyncpg's own parameters are dropped."""
    _, _, rest = url.strip().partition("://")
    before_query, _, query = rest.partition("?")
    parameters: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        name, _, value = pair.partition("=")
        parameters[unquote(name)] = unquote(value)
    ssl = parameters.get("ssl", "").lower()
    if ssl == "true":  # as bandstand.database.url reads it: verified against the OS's roots
        parameters.setdefault("sslmode", "verify-full")
        parameters.setdefault("sslrootcert", "system")
    elif ssl == "false":
        parameters.setdefault("sslmode", "disable")
    elif ssl:
        parameters.setdefault("sslmode", ssl)
    if "connect_timeout" in parameters:  # libpq takes whole seconds
        parameters["connect_timeout"] = str(max(1, math.ceil(float(parameters["connect_timeout"]))))
    else:
        parameters["connect_timeout"] = "10"
    kept: dict[str, Any] = {k: v for k, v in parameters.items() if k not in _NOT_LIBPQ}
    encoded = "&".join(f"{quote(k)}={quote(str(v), safe='')}" for k, v in kept.items())
    return f"postgresql+psycopg://{before_query}?{encoded}"
