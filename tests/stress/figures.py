"""The stress suite's figures: what each part did (requests, errors, faults survived, payloads
tried, rows verified), printed as a table at the end and written under bench/results/.

A run that covers some parts only (one file, `-k`) replaces those parts' rows in the written
results and keeps the others', so running the suite file by file still leaves a whole table."""

from __future__ import annotations

import datetime
import platform
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from tests.support import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"


class Figure(msgspec.Struct, frozen=True):
    part: str
    measure: str
    value: int | float
    note: str = ""


@dataclass
class Figures:
    """Filled by the tests through the `figures` fixture; one table per database kind."""

    database: str
    rows: list[Figure] = field(default_factory=list)

    def record(self, part: str, measure: str, value: int | float, note: str = "") -> None:
        self.rows.append(Figure(part, measure, value, note))

    def table(self) -> str:
        lines = [
            f"Stress suite on {self.database} — {platform.machine()}, "
            f"Python {platform.python_version()}, "
            f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
            "",
            "| part | measure | value | note |",
            "|---|---|---:|---|",
        ]
        lines += [
            f"| {row.part} | {row.measure} | {_number(row.value)} | {row.note} |"
            for row in self.rows
        ]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path = RESULTS) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"stress-{self.database}"
        everything = Figures(self.database, merged(earlier(stem.with_suffix(".json")), self.rows))
        stem.with_suffix(".json").write_bytes(
            msgspec.json.format(
                msgspec.json.encode({"database": self.database, "rows": everything.rows})
            )
        )
        stem.with_suffix(".md").write_text(everything.table())


class Written(msgspec.Struct):
    database: str
    rows: list[Figure]


def earlier(path: Path) -> list[Figure]:
    """The rows written before, if they can be read."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=Written).rows
    except (OSError, msgspec.DecodeError):
        return []


def merged(old: list[Figure], new: list[Figure]) -> list[Figure]:
    """`old` with the parts `new` has replaced by `new`'s rows, in the order parts first came."""
    parts = list(dict.fromkeys([row.part for row in old] + [row.part for row in new]))
    fresh = {row.part for row in new}
    return [row for part in parts for row in (new if part in fresh else old) if row.part == part]


def _number(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
