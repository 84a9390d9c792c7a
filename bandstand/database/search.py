"""Case-insensitive "contains" search over text columns, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import WhereRaw


def like_pattern(text: str) -> str:
    """The LIKE pattern for values containing `text`, ignoring case. What a person typed is
    text, not a pattern: % and _ match themselves."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matches_pattern(pattern: Any, *columns: Column) -> WhereRaw:
    """Rows where any of `columns`, lowercased, matches `pattern` (from `like_pattern`, or a
    compiled query's slot for one)."""
    # Table-qualified: a joined table may have a column of the same name.
    tests = [
        f"LOWER({column._meta.table._meta.tablename}.{column._meta.db_column_name}) "
        "LIKE {} ESCAPE '\\'"
        for column in columns
    ]
    return WhereRaw("(" + " OR ".join(tests) + ")", *[pattern] * len(columns))


def contains_text(text: str, *columns: Column) -> WhereRaw:
    """Rows where any of `columns` contains `text`, ignoring case."""
    return matches_pattern(like_pattern(text), *columns)
