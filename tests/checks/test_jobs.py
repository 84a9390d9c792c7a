"""The job queue's check: its database usable, and a warning when queued jobs have nobody to
run them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from bandstand.checks.jobs import check_jobs
from bandstand.jobs import JobQueue
from bandstand.jobs.queue import use_queue
from bandstand.jobs.tables import JobWorker
from bandstand.settings import get_settings
from tests.checks.helpers import run_check
from tests.jobs.tasks import record


async def test_the_queue_is_reported_ready_with_its_workers() -> None:
    run = await run_check()

    assert run.level("jobs.I001") == "info", run.explain()
    message = run.findings["jobs.I001"].message
    assert "worker(s) alive" in message
    assert "no direct JOBS_DATABASE_URL is needed" in message


async def test_jobs_left_waiting_with_no_live_worker_are_a_warning() -> None:
    await JobWorker.delete(force=True)
    queue = JobQueue(get_settings())
    use_queue(queue)
    job = await record.enqueue(1)
    try:
        findings = {f.id: f for f in await check_jobs(get_settings(), stuck_after=timedelta(0))}
        assert "jobs.W001" in findings
        assert "piccolo project worker" in (findings["jobs.W001"].hint or "")
        # Not while a worker is alive: it will get to them.
        await JobWorker.insert(JobWorker(executor_id="alive", host="h", pid=1))
        findings = {f.id: f for f in await check_jobs(get_settings(), stuck_after=timedelta(0))}
        assert "jobs.W001" not in findings
        assert "jobs.I001" in findings
    finally:
        await job.cancel()
        await queue.aclose()
        await JobWorker.delete(force=True)


@pytest.mark.engine_independent
async def test_a_jobs_database_that_cannot_be_made_is_an_error(tmp_path: Path) -> None:
    # A file where the folder should be: the SQLite file cannot be created, for any user.
    blocker = tmp_path / "not-a-folder"
    await anyio.Path(blocker).write_text("")
    run = await run_check(JOBS_DATABASE_URL=f"sqlite:///{blocker}/jobs.sqlite3")

    assert run.level("jobs.E001") == "error", run.explain()
    assert str(blocker) in run.findings["jobs.E001"].message
    assert run.returncode == 1
