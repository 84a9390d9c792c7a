"""Bandstand's Piccolo apps: the framework's own tables and migrations (`bandstand`), and the
site's app (`project`), made from the site's features by `site_app_config`.

Like Django's contrib apps, the framework ships the migrations of its tables
(`bandstand/piccolo_migrations/`); a site's migrations cover its own features' tables.
"""

from collections.abc import Sequence
from pathlib import Path

from piccolo.conf.apps import AppConfig

from bandstand.commands import site_commands
from bandstand.features import FRAMEWORK_FEATURES, Feature

USERS_APP = "piccolo.apps.user.piccolo_app"

APP_CONFIG = AppConfig(
    app_name="bandstand",
    migrations_folder_path=str(Path(__file__).resolve().parent / "piccolo_migrations"),
    table_classes=[table for feature in FRAMEWORK_FEATURES for table in feature.tables],
    migration_dependencies=[USERS_APP],
)


def site_app_config(
    features: Sequence[Feature], migrations_folder: Path, app_name: str = "project"
) -> AppConfig:
    """The site's Piccolo app: its features' tables, the migrations in `migrations_folder`, and
    the `piccolo <app_name> …` commands."""
    return AppConfig(
        app_name=app_name,
        migrations_folder_path=str(migrations_folder),
        table_classes=[table for feature in features for table in feature.tables],
        migration_dependencies=[USERS_APP, "bandstand.piccolo_app"],
        commands=[*site_commands(features)],
    )
