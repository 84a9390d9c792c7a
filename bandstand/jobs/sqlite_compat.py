"""DBOS 3.4 writes its SQLite timestamps with `unixepoch('subsec')` whenever Python is 3.12 or
newer, but that form needs SQLite 3.42: on an older SQLite library (Debian 12's 3.40) it yields
NULL, and DBOS cannot even start. Where that is the case, its connections get a `unixepoch` of
their own, which SQLite prefers to its built-in."""

from __future__ import annotations

import sqlite3
import sys
import time
from typing import Any

NEEDED = (3, 42, 0)
_installed: list[bool] = []


def _unixepoch(modifier: Any) -> float | None:
    return time.time() if modifier == "subsec" else None


def _give_unixepoch(dbapi_connection: Any, _: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("unixepoch", 1, _unixepoch)


def install() -> None:
    """Once per process, and only where DBOS would otherwise fail."""
    if _installed or sys.version_info < (3, 12) or sqlite3.sqlite_version_info >= NEEDED:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "connect", _give_unixepoch)
    _installed.append(True)
