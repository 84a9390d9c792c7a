"""The conformance runs' tables: the framework tests' own (tests/support/tables.py), and two
more for what those don't have — a unique foreign key to reverse, and a column with choices."""

from __future__ import annotations

import enum

from piccolo.columns import ForeignKey, Secret, Serial, Text, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table, sort_table_classes

from tests.support import tables as support
from tests.support.tables import Band


class FanClub(Table):
    """At most one per band: its foreign key is unique, so it can be reversed."""

    id: Serial
    band = ForeignKey(Band, unique=True, on_delete=OnDelete.cascade)
    address = Text()


class Booking(Table):
    class Status(enum.StrEnum):
        held = "h"
        confirmed = "c"
        cancelled = "x"

    id: Serial
    band = ForeignKey(Band, null=True, on_delete=OnDelete.set_null)
    status = Varchar(length=1, choices=Status, default=Status.held)
    contact = Secret(null=True, default=None)


def all_tables() -> list[type[Table]]:
    """Every table a run makes, parents first (read when called: tests/support may add some)."""
    return sort_table_classes([*support.TABLES, FanClub, Booking])
