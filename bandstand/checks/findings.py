"""What a check reports: an id such as `database.E001`, a level, a message and a hint.

The level is read from the id's letter (E, W, I), so the two can never disagree and a script
can tell an error from a warning by the id alone, as with Django's checks.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

ID = re.compile(r"(?P<area>[a-z]+)\.(?P<letter>[EWI])(?P<number>\d{3})")


class Level(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


_LEVELS = {"I": Level.INFO, "W": Level.WARNING, "E": Level.ERROR}


def level_of(finding_id: str) -> Level:
    match = ID.fullmatch(finding_id)
    if match is None:
        raise ValueError(f"not a finding id: {finding_id!r} (expected e.g. database.E001)")
    return _LEVELS[match["letter"]]


@dataclass(frozen=True)
class Finding:
    id: str
    message: str
    hint: str | None = None
    level: Level = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", level_of(self.id))
