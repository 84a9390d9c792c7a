"""Piccolo's configuration: the engine built from DATABASE_URL, and the installed Piccolo apps."""

from piccolo.conf.apps import AppRegistry

from project.configuration import exit_on_bad_configuration
from project.database.engine import create_engine
from project.settings import get_settings

with exit_on_bad_configuration():
    DB = create_engine(get_settings())

APP_REGISTRY = AppRegistry(
    apps=[
        "piccolo.apps.user.piccolo_app",  # users: piccolo_user
        "piccolo_api.session_auth.piccolo_app",  # sessions, shared with Piccolo Admin
        "project.piccolo_app",
    ]
)
