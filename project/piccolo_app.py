"""The site's Piccolo app: its features' tables, its migrations and the `piccolo project …`
commands."""

from pathlib import Path

from bandstand.piccolo_app import site_app_config
from project.features import FEATURES

APP_CONFIG = site_app_config(
    FEATURES, migrations_folder=Path(__file__).resolve().parent.parent / "piccolo_migrations"
)
