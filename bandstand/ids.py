"""Row ids in paths and bodies, within what the tables can store.

Ids are Piccolo's `Serial`: a 32-bit integer on PostgreSQL (64-bit on SQLite). A larger number
went on to the database and came back as a 500 instead of a refusal.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

MAX_ID = 2**31 - 1

RowId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
