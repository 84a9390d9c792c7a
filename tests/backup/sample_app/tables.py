"""The sample site's tables: a parent and a child with one nullable column of each type the
framework's own tables lack (decimals, JSON, UUIDs, arrays, dates, intervals)."""

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import (
    JSON,
    JSONB,
    UUID,
    Array,
    BigInt,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Interval,
    Numeric,
    Serial,
    Text,
    Timestamp,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Shelf(Table):
    id: Serial
    name = Varchar(length=100)


class Item(Table):
    """Refers to a shelf and to a user: restored after both."""

    id: Serial
    shelf = ForeignKey(Shelf, null=True, on_delete=OnDelete.cascade)
    owner = ForeignKey(BaseUser, null=True, on_delete=OnDelete.set_null)
    name = Varchar(length=200)
    notes = Text(null=True, default=None)
    price = Numeric(digits=(12, 2), null=True, default=None)
    quantity = BigInt(null=True, default=None)
    flag = Boolean(null=True, default=None)
    day = Date(null=True, default=None)
    seen_at = Timestamp(null=True, default=None)
    added_at = Timestamptz(null=True, default=None)
    span = Interval(null=True, default=None)
    identifier = UUID(null=True, default=None)
    blob = Bytea(null=True, default=None)
    document = JSON(null=True, default=None)
    binary_document = JSONB(null=True, default=None)
    tags = Array(Varchar(), null=True, default=None)


TABLES: list[type[Table]] = [Shelf, Item]
