"""A site with no feature of the project's: Piccolo's and the framework's apps, and the sample
app. The backup tests point the CLI at it (PICCOLO_CONF), so what they back up is what any
Bandstand site has, whatever the project's features are."""

from piccolo.conf.apps import AppRegistry

from bandstand.configuration import exit_on_bad_configuration
from bandstand.database.engine import engine_for
from bandstand.settings import get_settings

with exit_on_bad_configuration():
    DB = engine_for(get_settings())

APP_REGISTRY = AppRegistry(
    apps=[
        "piccolo.apps.user.piccolo_app",
        "piccolo_api.session_auth.piccolo_app",
        "piccolo_api.mfa.authenticator.piccolo_app",
        "bandstand.piccolo_app",
        "tests.backup.sample_app.piccolo_app",
    ]
)
