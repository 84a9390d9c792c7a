"""Row ids in paths and bodies, within what the tables can store, and page numbers in query
strings, within what a query can skip.

Ids are Piccolo's `Serial`: a 32-bit integer on PostgreSQL (64-bit on SQLite). A larger number
went on to the database and came back as a 500 instead of a refusal.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from bandstand.pagination import MAX_PAGE

MAX_ID = 2**31 - 1

RowId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
# Here, not beside `Page`: the queries that use pages then don't import Litestar, nor does the
# CLI, which imports them (through the features' tasks and demo data).
PageNumber = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Page number, from 1.")]
