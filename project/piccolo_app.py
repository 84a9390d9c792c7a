"""The project's Piccolo app: its tables, migrations folder and `piccolo project ...` commands."""

from piccolo.conf.apps import AppConfig, Command

from project.commands import COMMANDS
from project.features import FEATURES
from project.settings import BASE_DIR

APP_CONFIG = AppConfig(
    app_name="project",
    migrations_folder_path=str(BASE_DIR / "piccolo_migrations"),
    table_classes=[table for feature in FEATURES for table in feature.tables],
    migration_dependencies=["piccolo.apps.user.piccolo_app"],
    commands=[Command(callable=command) for command in COMMANDS],
)
