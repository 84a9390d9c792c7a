"""Column values to and from the backup's JSON, chosen by the Piccolo column type.

The driver's Python types differ by engine (SQLite hands back ints for booleans, PostgreSQL a
`Decimal` with the column's scale...), so each value is written in one spelling per column type
and read back into what Piccolo expects on any engine.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from piccolo.columns import (
    JSON,
    UUID,
    Array,
    Boolean,
    Bytea,
    Column,
    Date,
    ForeignKey,
    Integer,
    Interval,
    Numeric,
    Real,
    Serial,
    Text,
    Time,
    Timestamp,
    Timestamptz,
    Varchar,
)

from bandstand.backup.errors import BackupError

MICROSECOND = datetime.timedelta(microseconds=1)


@dataclass(frozen=True)
class Codec:
    """One column type's spelling: `encode` a non-null value for JSON, `decode` it back."""

    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _utc(value: datetime.datetime) -> datetime.datetime:
    # A naive value in a timestamptz column is UTC: that is how Piccolo stores it on SQLite.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)
    return aware.astimezone(datetime.UTC)


def _naive(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo is None else _utc(value).replace(tzinfo=None)


def _decimal(value: Any) -> decimal.Decimal:
    # Through str: a float's repr is its shortest exact spelling, Decimal(float) is not.
    return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))


def _numeric_codec(column: Numeric) -> Codec:
    scale: int | None = column.scale
    if scale is None:
        return Codec(lambda v: str(_decimal(v)), decimal.Decimal)
    # At the column's scale: PostgreSQL gives 2499.00 where SQLite gives 2499.
    exponent = decimal.Decimal(1).scaleb(-scale)
    # Enough precision for the column's widest value (the default 28 digits may not be).
    context = decimal.Context(prec=max(28, (column.precision or 0) + scale))
    return Codec(lambda v: str(_decimal(v).quantize(exponent, context=context)), decimal.Decimal)


def _json_text(value: Any) -> str:
    # Kept as text: a JSON `null` and an SQL NULL stay apart.
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


STRING = Codec(str, str)
INTEGER = Codec(int, int)

# The first type a column is an instance of wins: subclasses (BigInt, Secret, JSONB...) share
# their base's spelling.
CODECS: tuple[tuple[type[Column], Codec], ...] = (
    (Serial, INTEGER),
    (Integer, INTEGER),
    (Boolean, Codec(bool, bool)),
    (Varchar, STRING),
    (Text, STRING),
    (Real, Codec(float, float)),
    (Timestamptz, Codec(lambda v: _utc(v).isoformat(), datetime.datetime.fromisoformat)),
    (Timestamp, Codec(lambda v: _naive(v).isoformat(), datetime.datetime.fromisoformat)),
    (Date, Codec(lambda v: v.isoformat(), datetime.date.fromisoformat)),
    (Time, Codec(lambda v: v.isoformat(), datetime.time.fromisoformat)),
    (Interval, Codec(lambda v: v // MICROSECOND, lambda v: int(v) * MICROSECOND)),
    (JSON, Codec(_json_text, str)),
    (Bytea, Codec(lambda v: base64.b64encode(bytes(v)).decode("ascii"), base64.b64decode)),
    (UUID, Codec(str, uuid.UUID)),
)


def codec_for(column: Column) -> Codec:
    """The spelling of `column`'s values; raises `BackupError` for a type it doesn't know."""
    if isinstance(column, ForeignKey):
        return codec_for(column._foreign_key_meta.resolved_target_column)
    if isinstance(column, Array):
        return _array_codec(codec_for(column.base_column))
    if isinstance(column, Numeric):
        return _numeric_codec(column)
    for kind, codec in CODECS:
        if isinstance(column, kind):
            return codec
    table = column._meta.table._meta.tablename
    raise BackupError(
        f"column {table}.{column._meta.name} is a {type(column).__name__}, "
        "which backups don't know how to write"
    )


def _array_codec(item: Codec) -> Codec:
    def encode(values: Any) -> list[Any]:
        return [None if value is None else item.encode(value) for value in values]

    def decode(values: Any) -> list[Any]:
        return [None if value is None else item.decode(value) for value in values]

    return Codec(encode, decode)
