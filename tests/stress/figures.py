"""The stress suite's figures: what each part did (requests, errors, faults survived, payloads
tried, rows verified), printed as a table at the end and written under bench/results/."""

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
        stem.with_suffix(".json").write_bytes(
            msgspec.json.format(msgspec.json.encode({"database": self.database, "rows": self.rows}))
        )
        stem.with_suffix(".md").write_text(self.table())


def _number(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
