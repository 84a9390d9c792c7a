"""The framework's own jobs: the demo data and a backup, started from the staff page (/jobs),
and the daily pruning of old jobs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import re
from collections.abc import AsyncIterator

from bandstand.backup.dump import dump
from bandstand.backup.progress import DEFAULT_PAGE_SIZE
from bandstand.demo import DEMO_ACTIONS, demo_steps
from bandstand.disks import require_writable
from bandstand.jobs import worker
from bandstand.jobs.errors import JobsError
from bandstand.jobs.tasks import report_progress, task

BACKUP_NAME = re.compile(r"backup-\d{8}T\d{6}Z\.bandstand\.gz")
PROGRESS_SECONDS = 0.5


@task(name="bandstand.demo_data")
async def demo_data(action: str) -> str:
    """`piccolo project demo ACTION`, as a job."""
    if action not in DEMO_ACTIONS:
        raise JobsError(f"unknown demo action {action!r}; expected {', '.join(DEMO_ACTIONS)}")

    async def progress(done: int, total: int, feature: str) -> None:
        await report_progress(done, total, f"{action}: {feature}" if feature else f"{action}: done")

    steps = await demo_steps(worker.current().site.features, action, progress)
    return f"demo data: {action}, {steps} step(s)"


class _Counted:
    """The backup's progress (told synchronously, row by row), reported twice a second."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0
        self.step = ""

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, amount: int, step: str) -> None:
        self.done += amount
        self.step = step

    async def report(self) -> None:
        await report_progress(self.done, self.total, self.step)

    @contextlib.asynccontextmanager
    async def reporting(self) -> AsyncIterator[None]:
        async def every_while() -> None:
            while True:
                await asyncio.sleep(PROGRESS_SECONDS)
                await self.report()

        reporter = asyncio.create_task(every_while())
        try:
            yield
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        await self.report()


@task(name="bandstand.backup", timeout_seconds=3600)
async def take_backup() -> str:
    """`piccolo project backup` into BACKUP_ROOT, as a job; returns the file's name."""
    current = worker.current()
    root = current.settings.path(current.settings.backup_root)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"backup-{stamp}.bandstand.gz"
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(require_writable, root, needed_by="backups (BACKUP_ROOT)")
    progress = _Counted()
    async with progress.reporting():
        site = current.site
        await dump(site.engine, site.storage, root / name, progress, page_size=DEFAULT_PAGE_SIZE)
    return name


@task(name="bandstand.prune_jobs", cron="17 3 * * *")
async def prune_jobs(scheduled_at: datetime.datetime) -> int:
    """Every night (03:17 UTC): the jobs that ended more than JOBS_KEEP_DAYS ago go."""
    current = worker.current()
    return await current.queue.prune(datetime.timedelta(days=current.settings.jobs_keep_days))
