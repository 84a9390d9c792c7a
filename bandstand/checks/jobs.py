"""The job queue: its database usable, and someone to run what is queued."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import anyio

from bandstand.checks.findings import Finding
from bandstand.jobs.queue import JobQueue
from bandstand.jobs.tables import JobWorker
from bandstand.settings import Settings

TIMEOUT = 15.0
# Queued longer than this with no live worker: nobody is running the jobs.
STUCK_AFTER = timedelta(minutes=1)

READY = "jobs.I001"
UNUSABLE = "jobs.E001"
NO_WORKER = "jobs.W001"
IDS = (READY, UNUSABLE, NO_WORKER)


async def check_jobs(
    settings: Settings, *, seconds: float = TIMEOUT, stuck_after: timedelta = STUCK_AFTER
) -> list[Finding]:
    queue = JobQueue(settings)
    where = "JOBS_DATABASE_URL" if settings.jobs_database_url else "DATABASE_URL's database"
    with contextlib.suppress(ValueError):  # a URL that cannot be parsed: the error says so
        where = await anyio.to_thread.run_sync(lambda: queue.database.redacted)
    try:
        with anyio.fail_after(seconds):
            queued = await queue.states(status="queued", limit=1000)
            cutoff = datetime.now(UTC) - timedelta(seconds=settings.jobs_lease_seconds)
            # Before the migrations have run (migrations.W001 says so) no worker can be alive.
            workers: int = (
                await JobWorker.count().where(JobWorker.heartbeat_at >= cutoff)
                if await JobWorker.table_exists()
                else 0
            )
    except Exception as error:  # noqa: BLE001 - whatever stops it is the finding
        return [
            Finding(
                UNUSABLE,
                f"the job queue's database {where} cannot be used: {type(error).__name__}: {error}",
                "set JOBS_DATABASE_URL to a database the queue can create its tables in, or "
                "leave it empty to use DATABASE_URL's",
            )
        ]
    finally:
        await queue.aclose()
    findings = [
        Finding(
            READY,
            f"job queue in {where}: {len(queued)} queued, {workers} worker(s) alive; it works "
            "directly or through a transaction-mode pooler (no prepared statements, no "
            "LISTEN/NOTIFY), so no direct JOBS_DATABASE_URL is needed",
        )
    ]
    now = datetime.now(UTC)
    stuck = [job for job in queued if job.created_at and now - job.created_at > stuck_after]
    if stuck and not workers:
        findings.append(
            Finding(
                NO_WORKER,
                f"{len(stuck)} job(s) have waited over {stuck_after} and no worker is alive",
                "run `piccolo project worker` beside the web processes, or set "
                "JOBS_IN_PROCESS=true to run jobs in the web process",
            )
        )
    return findings
