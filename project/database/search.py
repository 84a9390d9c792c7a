"""Case-insensitive "contains" search over text columns, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from piccolo.columns import Column
from piccolo.columns.combination import WhereRaw


def contains_text(text: str, *columns: Column) -> WhereRaw:
    """Rows where any of `columns` contains `text`, ignoring case. What a person typed is
    text, not a pattern: % and _ match themselves."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # Table-qualified: a joined table may have a column of the same name.
    tests = [
        f"LOWER({column._meta.table._meta.tablename}.{column._meta.db_column_name}) "
        "LIKE {} ESCAPE '\\'"
        for column in columns
    ]
    return WhereRaw("(" + " OR ".join(tests) + ")", *[f"%{escaped}%"] * len(columns))
