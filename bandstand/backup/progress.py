"""How a backup or restore goes: the rows it reads at a time, and what it tells its caller as it
goes (the commands draw a progress bar)."""

from __future__ import annotations

from typing import Protocol

import msgspec

# Rows read per query: a backup's memory grows with it, not with the tables.
DEFAULT_PAGE_SIZE = 1000


class Progress(Protocol):
    def start(self, total: int) -> None:
        """`total` rows and files to go."""

    def advance(self, amount: int, step: str) -> None:
        """`amount` more done; `step` says what is being done now (a table, "media")."""


class Summary(msgspec.Struct, frozen=True):
    tables: int
    rows: int
    media: int
