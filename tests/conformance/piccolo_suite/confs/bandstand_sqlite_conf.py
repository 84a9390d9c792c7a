"""(b) Bandstand's TunedSQLiteEngine, built from a sqlite:/// URL as the site builds it."""

import os

from piccolo.conf.apps import AppRegistry

from bandstand.database.engine import engine_for
from bandstand.database.sqlite import TunedSQLiteEngine
from bandstand.settings import load_settings

from . import TEST_APPS

_path = os.environ["PICCOLO_SUITE_SQLITE_PATH"]
# Bandstand takes a relative path from the project's folder; the stock engine from the current
# directory. An absolute one is the same file for both.
assert os.path.isabs(_path), _path
DB = engine_for(load_settings({"DATABASE_URL": f"sqlite:///{_path}"}, env_file=None))
assert isinstance(DB, TunedSQLiteEngine), type(DB)

APP_REGISTRY = AppRegistry(apps=TEST_APPS)
