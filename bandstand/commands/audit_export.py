"""`piccolo project audit-export`: the audit log as JSON Lines, for an auditor or a log archive
before AUDIT_RETENTION_DAYS deletes old entries."""

from __future__ import annotations

import datetime
import sys
from typing import IO

import anyio.to_thread
import msgspec

PAGE_SIZE = 1000


async def audit_export(file: str, since: str = "") -> None:
    """
    Write the audit log's entries, oldest first, one JSON object per line.

    :param file:
        where to write them; - for standard output.
    :param since:
        only the entries from this day on (YYYY-MM-DD, UTC).
    """
    from bandstand.audit.tables import AuditEntry

    start = None
    if since:
        try:
            day = datetime.date.fromisoformat(since)
        except ValueError:
            sys.exit(f"audit-export: --since={since!r} is not a day such as 2026-12-31")
        start = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
    output: IO[bytes] = (
        sys.stdout.buffer if file == "-" else await anyio.to_thread.run_sync(open, file, "wb")
    )
    written, last_id = 0, 0
    try:
        while True:
            # By id, a page at a time: constant memory, whatever the log's size.
            query = AuditEntry.select().where(AuditEntry.id > last_id)
            if start is not None:
                query = query.where(AuditEntry.at >= start)
            page = await query.order_by(AuditEntry.id).limit(PAGE_SIZE)
            if not page:
                break
            lines = b"".join(msgspec.json.encode(row) + b"\n" for row in page)
            await anyio.to_thread.run_sync(output.write, lines)
            written, last_id = written + len(page), page[-1]["id"]
    finally:
        if output is not sys.stdout.buffer:
            await anyio.to_thread.run_sync(output.close)
    print(f"audit-export: {written} entries", file=sys.stderr)
