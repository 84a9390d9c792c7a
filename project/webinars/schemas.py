from __future__ import annotations

import datetime
from typing import Annotated, ClassVar

import msgspec

from bandstand.forms import Check, run_checks

# Python's \s spelled out: the schema's patterns are read by clients as JSON Schema (ECMA-262)
# regexes, whose \s differs (it lacks \x1c-\x1f and \x85, and has \ufeff).
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Deliberately loose: one @, something on each side, no spaces. The confirmation a real
# deployment would send is the only true check.
Email = Annotated[
    str, msgspec.Meta(max_length=254, pattern=f"^[^@{SPACE}]+@[^@{SPACE}]+\\.[^@{SPACE}]+$")
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=f"[^{SPACE}]")]


def date_problem(date: datetime.date) -> str | None:
    if date < datetime.datetime.now(datetime.UTC).date():
        return "Choose a date that is not in the past."
    return None


class RegistrationIn(msgspec.Struct, forbid_unknown_fields=True):
    checks: ClassVar[dict[str, Check]] = {"webinar_date": date_problem}

    name: Name
    email: Email
    webinar_date: datetime.date
    company: Annotated[str, msgspec.Meta(max_length=200)] = ""
    notes: Annotated[str, msgspec.Meta(max_length=2000)] = ""

    def __post_init__(self) -> None:
        run_checks(self)
        self.email = self.email.lower()


class RegistrantOut(msgspec.Struct, frozen=True):
    id: int
    name: str
    email: str
    company: str
    webinar_date: datetime.date
    notes: str
    has_photo: bool
    registered_at: datetime.datetime


class RegistrantPage(msgspec.Struct, frozen=True):
    items: list[RegistrantOut]
    page: int
    page_size: int
    total: int
    pages: int
