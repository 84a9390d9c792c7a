"""(a) Piccolo's stock SQLiteEngine, as Piccolo's tests/sqlite_conf.py builds it."""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.sqlite import SQLiteEngine

from . import TEST_APPS

DB = SQLiteEngine(path=os.environ["PICCOLO_SUITE_SQLITE_PATH"])

APP_REGISTRY = AppRegistry(apps=TEST_APPS)
