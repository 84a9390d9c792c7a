"""Piccolo's configuration: the engine built from DATABASE_URL, and the installed Piccolo apps."""

from piccolo.conf.apps import AppRegistry

from bandstand.configuration import exit_on_bad_configuration
from bandstand.database.engine import engine_for
from bandstand.settings import get_settings

with exit_on_bad_configuration():
    DB = engine_for(get_settings())

APP_REGISTRY = AppRegistry(
    apps=[
        "piccolo.apps.user.piccolo_app",  # users: piccolo_user
        "piccolo_api.session_auth.piccolo_app",  # sessions, shared with Piccolo Admin
        "piccolo_api.mfa.authenticator.piccolo_app",  # two-factor sign-in, shared with the admin
        "bandstand.piccolo_app",  # the framework's tables: groups, the login throttle, files
        "project.piccolo_app",  # the site's features
    ]
)
