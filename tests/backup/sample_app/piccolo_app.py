"""The sample site's Piccolo app, made as a site's is (`site_app_config`): its one feature's
tables and data, its own migrations, and the `piccolo sample …` commands, `backup`, `restore`
and `demo` (which loads `data.py`) among them."""

from pathlib import Path

from bandstand.features import Feature
from bandstand.piccolo_app import site_app_config
from tests.backup.sample_app import data
from tests.backup.sample_app.tables import TABLES

APP_NAME = "sample"

APP_CONFIG = site_app_config(
    [Feature(APP_NAME, tables=TABLES, load_demo=data.load)],
    migrations_folder=Path(__file__).resolve().parent / "piccolo_migrations",
    app_name=APP_NAME,
)
