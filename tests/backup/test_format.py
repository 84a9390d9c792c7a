"""The file format, the value spellings and the schema checks, in-process and without a
database: every kind of wrong file, and every column type through JSON and back."""

from __future__ import annotations

import datetime
import decimal
import gzip
import uuid
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from piccolo.columns import (
    JSON,
    JSONB,
    UUID,
    Array,
    BigInt,
    Boolean,
    Bytea,
    Column,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Interval,
    Numeric,
    Real,
    Secret,
    SmallInt,
    Text,
    Time,
    Timestamp,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from bandstand.backup.errors import BackupError
from bandstand.backup.format import (
    FORMAT,
    VERSION,
    BackupReader,
    BackupWriter,
    ColumnInfo,
    End,
    Header,
    Media,
    Record,
    Rows,
    TableInfo,
)
from bandstand.backup.schema import check_migrated, check_same_schema, check_same_tables
from bandstand.backup.values import codec_for

pytestmark = pytest.mark.engine_independent


class Band(Table):
    name = Varchar()


class Everything(Table):
    varchar = Varchar()
    secret = Secret()
    text = Text()
    integer = Integer()
    big = BigInt()
    small = SmallInt()
    flag = Boolean()
    price = Numeric(digits=(12, 3))
    free_numeric = Numeric()
    real = Real()
    double = DoublePrecision()
    naive = Timestamp()
    aware = Timestamptz()
    day = Date()
    clock = Time()
    span = Interval()
    document = JSON()
    binary_document = JSONB()
    blob = Bytea()
    identifier = UUID()
    tags = Array(base_column=Varchar())
    dates = Array(base_column=Date())
    band = ForeignKey(Band)


BERLIN = datetime.timezone(datetime.timedelta(hours=1))

# column, the value as a driver may hand it over, the value restore must insert.
CASES: list[tuple[Column, Any, Any]] = [
    (Everything.varchar, "Zoë 🎷 «»", "Zoë 🎷 «»"),
    (Everything.secret, "pbkdf2_sha256$600000$s$h", "pbkdf2_sha256$600000$s$h"),
    (Everything.text, 'line\nline\t\\ "q"', 'line\nline\t\\ "q"'),
    (Everything.integer, -7, -7),
    (Everything.big, 2**62, 2**62),
    (Everything.small, 3, 3),
    (Everything.flag, 1, True),  # SQLite's true
    (Everything.flag, False, False),
    (Everything.price, decimal.Decimal("2499"), decimal.Decimal("2499.000")),  # SQLite's
    (Everything.price, 12.5, decimal.Decimal("12.500")),
    (Everything.free_numeric, decimal.Decimal("1E+30"), decimal.Decimal("1E+30")),
    (Everything.real, 0.1, 0.1),
    (Everything.double, 1e300, 1e300),
    (
        Everything.naive,
        datetime.datetime(2026, 3, 4, 5, 6, 7, 891011),
        datetime.datetime(2026, 3, 4, 5, 6, 7, 891011),
    ),
    (
        Everything.aware,
        datetime.datetime(2026, 3, 4, 6, 6, 7, tzinfo=BERLIN),
        datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.UTC),
    ),
    (
        Everything.aware,  # naive in a timestamptz column: UTC, as Piccolo stores it on SQLite
        datetime.datetime(2026, 3, 4, 5, 6, 7),
        datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.UTC),
    ),
    (Everything.day, datetime.date(2028, 2, 29), datetime.date(2028, 2, 29)),
    (Everything.clock, datetime.time(23, 59, 59, 5), datetime.time(23, 59, 59, 5)),
    (
        Everything.span,
        datetime.timedelta(days=3, microseconds=7),
        datetime.timedelta(days=3, microseconds=7),
    ),
    (Everything.document, '{"a": [1, null]}', '{"a": [1, null]}'),
    (Everything.document, "null", "null"),  # JSON null, not SQL NULL
    (Everything.binary_document, {"k": "v"}, '{"k":"v"}'),
    (Everything.blob, b"\x00\xff\xfe", b"\x00\xff\xfe"),
    (Everything.blob, memoryview(b"\x01"), b"\x01"),  # asyncpg may hand over a view
    (
        Everything.identifier,
        uuid.UUID(int=0xB4D),
        uuid.UUID(int=0xB4D),
    ),
    (Everything.tags, ["a", None, "ü"], ["a", None, "ü"]),
    (
        Everything.dates,
        [datetime.date(2026, 1, 1)],
        [datetime.date(2026, 1, 1)],
    ),
    (Everything.band, 5, 5),
]


@pytest.mark.parametrize(
    ("column", "value", "restored"),
    CASES,
    ids=[f"{c._meta.name}-{i}" for i, (c, _, _) in enumerate(CASES)],
)
def test_each_column_type_survives_json(column: Column, value: Any, restored: Any) -> None:
    codec = codec_for(column)
    through_json = msgspec.json.decode(msgspec.json.encode(codec.encode(value)))
    result = codec.decode(through_json)
    assert result == restored
    assert type(result) is type(restored)


def test_numeric_keeps_the_column_scale_for_postgresql_and_sqlite_alike() -> None:
    codec = codec_for(Everything.price)
    assert codec.encode(decimal.Decimal("2499")) == codec.encode(decimal.Decimal("2499.000"))


def _header(**changes: Any) -> Header:
    header = Header(
        format=FORMAT,
        version=VERSION,
        created_at="2026-01-01T00:00:00+00:00",
        engine="sqlite",
        storage="filesystem",
        migrations={"user": ["u1"], "project": ["p1", "p2"]},
        tables=[],
        media=1,
    )
    return msgspec.structs.replace(header, **changes)


async def test_written_records_read_back(tmp_path: Path) -> None:
    path = tmp_path / "backup.gz"
    records: list[Record] = [
        Rows(table="band", rows=[[1, "x"]]),
        Media("f/a.png", "image/png", b"\x89P"),
        End(1, 1),
    ]
    async with await BackupWriter.create(path) as writer:
        await writer.write(_header())
        for record in records:
            await writer.write(record)
        assert not await anyio.Path(path).exists()  # only once complete
    assert (await anyio.Path(path).stat()).st_mode & 0o777 == 0o600
    async with await BackupReader.open(path) as reader:
        assert await reader.header() == _header()
        assert [await reader.record() for _ in records] == records


async def test_a_failed_backup_leaves_no_file(tmp_path: Path) -> None:
    async def fail_half_way() -> None:
        async with await BackupWriter.create(tmp_path / "backup.gz") as writer:
            await writer.write(_header())
            raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        await fail_half_way()
    assert [p async for p in anyio.Path(tmp_path).iterdir()] == []


def _gzip_lines(*lines: bytes) -> bytes:
    return gzip.compress(b"".join(line + b"\n" for line in lines))


HEADER = msgspec.json.encode(_header())


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"plain text\n", "is not a Bandstand backup", id="not-gzip"),
        pytest.param(gzip.compress(b"\x00\x01 binary"), "is not a Bandstand backup", id="not-json"),
        pytest.param(gzip.compress(b"[1, 2]\n"), "is not a Bandstand backup", id="not-an-object"),
        pytest.param(
            _gzip_lines(b'{"format": "other-tool", "version": 1}'),
            "is not a Bandstand backup",
            id="other-format",
        ),
        pytest.param(
            _gzip_lines(b'{"format": "bandstand-backup", "version": 99}'),
            "is in backup format 99, written by a newer Bandstand; this one reads format 1",
            id="newer-format",
        ),
        pytest.param(
            _gzip_lines(b'{"format": "bandstand-backup", "version": 1, "tables": 3}'),
            "has a damaged header",
            id="damaged-header",
        ),
    ],
)
async def test_the_header_refuses_what_it_cannot_read(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "file"
    await anyio.Path(path).write_bytes(content)
    async with await BackupReader.open(path) as reader:
        with pytest.raises(BackupError, match=expected):
            await reader.header()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(_gzip_lines(HEADER), "is cut short: it ends before the end", id="no-end"),
        pytest.param(
            _gzip_lines(HEADER, b'{"kind": "rows"}')[:-12] + b"\x00" * 4,
            "is (cut short|damaged)",
            id="truncated-gzip",
        ),
        pytest.param(_gzip_lines(HEADER, b'{"kind": "unknown"}'), "is damaged", id="unknown-line"),
    ],
)
async def test_records_refuse_a_damaged_or_cut_file(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "file"
    await anyio.Path(path).write_bytes(content)
    async with await BackupReader.open(path) as reader:
        await reader.header()
        with pytest.raises(BackupError, match=expected):
            await reader.record()


async def test_a_missing_file_or_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no such file"):
        await BackupReader.open(tmp_path / "missing.gz")
    with pytest.raises(BackupError, match="is a folder"):
        await BackupReader.open(tmp_path)


@pytest.mark.parametrize(
    ("here", "expected"),
    [
        (
            {"user": ["u1"], "project": ["p1"]},
            "the backup is from a newer schema: this database lacks migration p2 of app "
            "'project'; upgrade the code and run `piccolo migrations forwards all`, then restore",
        ),
        (
            {"user": ["u1"], "project": ["p1", "p2", "p3"]},
            "the backup is from an older schema: this database also has migration p3 of app "
            "'project'; restore it with the version of the code it was made with, then upgrade "
            "and run `piccolo migrations forwards all`",
        ),
        (
            {"user": ["u1"], "project": ["p1", "x2"]},
            "the backup's migrations of app 'project' (p1, p2) differ from this database's "
            "(p1, x2)",
        ),
        (
            {"user": ["u1"], "project": ["p1", "p2"], "extra": ["e1"]},
            "this database also has migration e1 of app 'extra'",
        ),
    ],
)
def test_another_schema_version_is_refused_with_what_to_do(
    here: dict[str, list[str]], expected: str
) -> None:
    with pytest.raises(BackupError) as refused:
        check_same_schema(_header(), here)
    assert expected in str(refused.value)


def test_the_same_schema_version_passes_in_any_order() -> None:
    check_same_schema(_header(), {"project": ["p2", "p1"], "user": ["u1"]})


CODE = {"user": ["u1"], "project": ["p1", "p2"]}


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ({}, "this database has no tables yet: run `piccolo migrations forwards all` first"),
        (
            {"user": ["u1"], "project": ["p1"]},
            "this database lacks migration p2 of app 'project': run `piccolo migrations "
            "forwards all` first",
        ),
        (
            {"user": ["u1"], "project": ["p1", "p2", "p9"]},
            "this database has migration p9 of app 'project', which this code doesn't",
        ),
    ],
)
def test_a_database_the_code_has_not_migrated_is_refused(
    database: dict[str, list[str]], expected: str
) -> None:
    with pytest.raises(BackupError) as refused:
        check_migrated(CODE, database)
    assert expected in str(refused.value)
    check_migrated(CODE, {"project": ["p2", "p1"], "user": ["u1"]})


def _band(*columns: tuple[str, str]) -> TableInfo:
    return TableInfo("band", "id", [ColumnInfo(name, kind) for name, kind in columns], rows=0)


def test_tables_or_columns_other_than_the_code_s_are_refused() -> None:
    check_same_tables(_header(tables=[_band(("id", "Serial"), ("name", "Varchar"))]), [Band])
    with pytest.raises(BackupError, match=r"table 'band' has other columns in the backup \(id"):
        check_same_tables(_header(tables=[_band(("id", "Serial"), ("name", "Text"))]), [Band])
    with pytest.raises(BackupError, match="only in the backup: venue; only here: band"):
        check_same_tables(_header(tables=[TableInfo("venue", "id", [], 0)]), [Band])
