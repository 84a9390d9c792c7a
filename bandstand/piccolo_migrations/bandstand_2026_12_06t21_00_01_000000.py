from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Bytea, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class MediaFile(Table, tablename="media_file", schema=None):  # this migration's own
    pass


ID = "2026-12-06T21:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "storage: files stored in the database"


class AdoptingMigrationManager(MigrationManager):
    """Databases made before Bandstand had an app of its own have these tables already: the
    site's (`project`) migration 2026-11-25T20:20:26:690609 made them.
    There they are adopted as they are."""

    async def run(self, backwards: bool = False) -> None:
        if not backwards and await MediaFile.table_exists():
            print(f"  - {self.migration_id} [adopted: {MediaFile._meta.tablename} exists]... ", end="")
            return
        await super().run(backwards=backwards)


async def forwards() -> MigrationManager:
    manager = AdoptingMigrationManager(
        migration_id=ID, app_name="bandstand", description=DESCRIPTION
    )

    manager.add_table(
        class_name="MediaFile", tablename="media_file", schema=None, columns=None
    )

    manager.add_column(
        table_class_name="MediaFile",
        tablename="media_file",
        column_name="key",
        db_column_name="key",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 100,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": True,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="MediaFile",
        tablename="media_file",
        column_name="content_type",
        db_column_name="content_type",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 100,
            "default": "",
            "null": False,
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

    manager.add_column(
        table_class_name="MediaFile",
        tablename="media_file",
        column_name="size",
        db_column_name="size",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
            "null": False,
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

    manager.add_column(
        table_class_name="MediaFile",
        tablename="media_file",
        column_name="data",
        db_column_name="data",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": b"",
            "null": False,
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

    manager.add_column(
        table_class_name="MediaFile",
        tablename="media_file",
        column_name="created_at",
        db_column_name="created_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": TimestamptzNow(),
            "null": False,
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
