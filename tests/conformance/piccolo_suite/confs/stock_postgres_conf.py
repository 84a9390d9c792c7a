"""(c, f) Piccolo's stock PostgresEngine, as Piccolo's tests/postgres_conf.py builds it, on the
database of PICCOLO_SUITE_DATABASE_URL; PICCOLO_SUITE_STATEMENT_CACHE_SIZE, when set, is
asyncpg's statement_cache_size (0 behind PgBouncer in transaction mode)."""

import os
from urllib.parse import unquote, urlsplit

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from . import TEST_APPS

_url = urlsplit(os.environ["PICCOLO_SUITE_DATABASE_URL"])
_config: dict[str, object] = {
    "host": _url.hostname or "localhost",
    "port": _url.port or 5432,
    "user": unquote(_url.username or "postgres"),
    "password": unquote(_url.password or ""),
    "database": unquote(_url.path.lstrip("/")),
}
if os.environ.get("PICCOLO_SUITE_STATEMENT_CACHE_SIZE"):
    _config["statement_cache_size"] = int(os.environ["PICCOLO_SUITE_STATEMENT_CACHE_SIZE"])

DB = PostgresEngine(config=_config)

APP_REGISTRY = AppRegistry(apps=TEST_APPS)
