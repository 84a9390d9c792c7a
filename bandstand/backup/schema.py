"""What is backed up: every table of every installed Piccolo app, and the schema version."""

from __future__ import annotations

from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder
from piccolo.table import Table, sort_table_classes

from bandstand.backup.errors import BackupError
from bandstand.backup.format import ColumnInfo, Header, TableInfo

MIGRATE = "piccolo migrations forwards all"


def tables_to_back_up() -> list[type[Table]]:
    """Every app's tables, parents before children; Piccolo's own `migration` table is the
    schema version, recorded in the header instead."""
    unique = {
        table._meta.tablename: table
        for table in Finder().get_table_classes()
        if table._meta.tablename != Migration._meta.tablename
    }
    return sort_table_classes(list(unique.values()))


def describe(table: type[Table], rows: int) -> TableInfo:
    return TableInfo(
        name=table._meta.tablename,
        primary_key=table._meta.primary_key._meta.name,
        columns=[ColumnInfo(c._meta.name, type(c).__name__) for c in table._meta.columns],
        rows=rows,
    )


def check_migrated(code: dict[str, list[str]], database: dict[str, list[str]]) -> None:
    """Refuse a database whose schema isn't the code's: its tables would not be the ones the
    code reads and writes."""
    if not database:
        raise BackupError(f"this database has no tables yet: run `{MIGRATE}` first")
    for app in sorted(code.keys() | database.keys()):
        ours, its = set(code.get(app, [])), set(database.get(app, []))
        if unknown := sorted(its - ours):
            raise BackupError(
                f"this database has migration {unknown[0]} of app {app!r}, which this code "
                "doesn't: use the version of the code that migrated it"
            )
        if pending := sorted(ours - its):
            raise BackupError(
                f"this database lacks migration {pending[0]} of app {app!r}: run `{MIGRATE}` first"
            )


def check_same_schema(header: Header, here: dict[str, list[str]]) -> None:
    """Refuse a backup whose schema version isn't this database's, saying what to do."""
    for app in sorted(header.migrations.keys() | here.keys()):
        theirs, ours = set(header.migrations.get(app, [])), set(here.get(app, []))
        newer, older = sorted(theirs - ours), sorted(ours - theirs)
        if newer and not older:
            raise BackupError(
                f"the backup is from a newer schema: this database lacks migration {newer[0]} "
                f"of app {app!r}; upgrade the code and run `{MIGRATE}`, then restore"
            )
        if older and not newer:
            raise BackupError(
                f"the backup is from an older schema: this database also has migration "
                f"{older[0]} of app {app!r}; restore it with the version of the code it was "
                f"made with, then upgrade and run `{MIGRATE}`"
            )
        if newer:
            raise BackupError(
                f"the backup's migrations of app {app!r} ({', '.join(sorted(theirs))}) "
                f"differ from this database's ({', '.join(sorted(ours))})"
            )


def check_same_tables(header: Header, tables: list[type[Table]]) -> None:
    """Refuse a backup whose tables or columns differ from the code's (code changed without a
    migration, or a hand-edited file)."""
    ours = {info.name: info.columns for info in (describe(table, 0) for table in tables)}
    theirs = {info.name: info.columns for info in header.tables}
    if ours.keys() != theirs.keys():
        only_backup = sorted(theirs.keys() - ours.keys())
        only_here = sorted(ours.keys() - theirs.keys())
        raise BackupError(
            "the backup's tables differ from this code's"
            + (f"; only in the backup: {', '.join(only_backup)}" if only_backup else "")
            + (f"; only here: {', '.join(only_here)}" if only_here else "")
        )
    for name, columns in theirs.items():
        if columns != ours[name]:
            raise BackupError(
                f"table {name!r} has other columns in the backup "
                f"({', '.join(f'{c.name} {c.type}' for c in columns)}) than here "
                f"({', '.join(f'{c.name} {c.type}' for c in ours[name])})"
            )
