"""(d, e, g) Bandstand's PoolerSafePostgresEngine, built from PICCOLO_SUITE_DATABASE_URL as the
site builds it from DATABASE_URL. The URL's query chooses the variant: none (the statement
cache off, the default), ?statement_cache_size=100, or ?pgbouncer=true."""

import os

from piccolo.conf.apps import AppRegistry

from bandstand.database.engine import engine_for
from bandstand.database.postgres import PoolerSafePostgresEngine
from bandstand.settings import load_settings

from . import TEST_APPS

_url = os.environ["PICCOLO_SUITE_DATABASE_URL"]
DB = engine_for(load_settings({"DATABASE_URL": _url}, env_file=None))
assert isinstance(DB, PoolerSafePostgresEngine), type(DB)

APP_REGISTRY = AppRegistry(apps=TEST_APPS)
