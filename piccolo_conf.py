"""Piccolo's configuration: the engine built from DATABASE_URL, and the installed Piccolo apps."""

from piccolo.conf.apps import AppRegistry

from project.configuration import exit_on_bad_configuration
from project.database.engine import create_engine
from project.settings import get_settings

with exit_on_bad_configuration():
    DB = create_engine(get_settings())

APP_REGISTRY = AppRegistry(apps=["project.piccolo_app"])
