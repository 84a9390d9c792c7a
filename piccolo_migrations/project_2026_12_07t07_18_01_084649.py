from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T07:18:01:084649"
VERSION = "1.38.0"
DESCRIPTION = "webinars: the photo's job"


async def forwards() -> MigrationManager:
    manager = MigrationManager(
        migration_id=ID, app_name="project", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Registrant",
        tablename="registrant",
        column_name="photo_job",
        db_column_name="photo_job",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 36,
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
