"""The nightly deletion of entries older than AUDIT_RETENTION_DAYS."""

from __future__ import annotations

import datetime

from bandstand.audit.tables import AuditEntry
from bandstand.jobs import worker
from bandstand.jobs.tasks import task


async def prune(keep_days: int) -> int:
    """Delete the entries older than `keep_days`; how many went."""
    cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=keep_days)
    gone = await AuditEntry.delete().where(AuditEntry.at < cutoff).returning(AuditEntry.id)
    return len(gone)


@task(name="bandstand.prune_audit_log", cron="29 3 * * *")
async def prune_audit_log(scheduled_at: datetime.datetime) -> int:
    """Every night (03:29 UTC): the audit entries older than AUDIT_RETENTION_DAYS go."""
    return await prune(worker.current().settings.audit_retention_days)
