"""The task API with a worker in the app's own process: results, progress, retries, timeouts,
cancellation, unique and delayed jobs, on the run's database (SQLite, then PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bandstand.accounts.users import User
from bandstand.jobs import JobFailed, JobQueue, JobsError, task
from tests.jobs.tasks import JobEffect, JobRun, count_users, flaky, record, slow
from tests.support.waiting import until


async def has_status(queue: JobQueue, job_id: str, status: str) -> bool:
    state = await queue.state(job_id)
    return state is not None and state.status == status


async def test_a_job_runs_on_the_sites_database_and_returns_its_result(jobs: JobQueue) -> None:
    users = await User.count()
    job = await count_users.enqueue(40)
    async with asyncio.timeout(20):
        assert await job.result() == users + 40
    state = await job.state()
    assert (state.status, state.task, state.queue) == ("done", "tests.count_users", "default")
    assert state.finished
    assert state.error is None
    assert await job.progress() == {"done": 1, "total": 2, "message": "counting"}


async def test_a_failing_attempt_is_retried_with_backoff(jobs: JobQueue) -> None:
    job = await flaky.enqueue(1, failures=2)
    async with asyncio.timeout(20):
        assert await job.result() == 3  # the third attempt, after two failures
    assert await JobRun.count().where(JobRun.seq == 1) == 3


async def test_a_job_that_fails_every_attempt_keeps_its_last_error(jobs: JobQueue) -> None:
    job = await flaky.enqueue(2, failures=5)
    with pytest.raises(JobFailed, match="ConnectionError: attempt 3 failed"):
        async with asyncio.timeout(20):
            await job.result()
    state = await job.state()
    assert state.status == "failed"
    assert "attempt 3 failed" in (state.error or "")
    assert await JobRun.count().where(JobRun.seq == 2) == 3  # retries=2: three attempts


async def test_a_permanent_failure_is_not_tried_again(jobs: JobQueue) -> None:
    job = await flaky.enqueue(44, failures=5, permanent=True)
    with pytest.raises(JobFailed, match="PermanentFailure: attempt 1 failed"):
        async with asyncio.timeout(20):
            await job.result()
    assert await JobRun.count().where(JobRun.seq == 44) == 1  # retries=2, but one attempt


async def test_an_attempt_past_its_timeout_is_interrupted_and_counts_as_failed(
    jobs: JobQueue,
) -> None:
    job = await slow.enqueue(3, seconds=30)
    with pytest.raises(JobFailed, match="TimeoutError"):
        async with asyncio.timeout(20):
            await job.result()
    notes = await JobRun.select(JobRun.note).where(JobRun.seq == 3).output(as_list=True)
    # Two attempts (retries=1), each stopped at its timeout, none finished.
    assert sorted(notes) == ["interrupted", "interrupted", "started", "started"]


async def test_cancelling_a_running_job_interrupts_it(jobs: JobQueue) -> None:
    job = await slow.enqueue(4, seconds=0.4)  # within the timeout: only the cancel stops it
    await until(lambda: has_status(jobs, job.id, "running"), seconds=10)
    await until(JobRun.exists().where(JobRun.seq == 4).run, seconds=10, every=0.01)
    await job.cancel()
    with pytest.raises(JobFailed, match="cancelled"):
        async with asyncio.timeout(10):
            await job.result()
    assert (await job.state()).status == "cancelled"
    await asyncio.sleep(0.6)  # long enough for the job to have finished, had it gone on
    notes = await JobRun.select(JobRun.note).where(JobRun.seq == 4).output(as_list=True)
    assert sorted(notes) == ["interrupted", "started"]


async def test_a_cancelled_job_that_waits_for_its_time_never_runs(jobs: JobQueue) -> None:
    job = await record.using(run_after=timedelta(seconds=1)).enqueue(5)
    assert (await job.state()).status == "scheduled"
    await job.cancel()
    await asyncio.sleep(1.5)
    assert (await job.state()).status == "cancelled"
    assert not await JobRun.exists().where(JobRun.seq == 5)


async def test_a_job_run_after_a_time_starts_no_sooner(jobs: JobQueue) -> None:
    start = time.monotonic()
    job = await record.using(run_after=datetime.now(UTC) + timedelta(seconds=1)).enqueue(6)
    async with asyncio.timeout(20):
        assert await job.result() == 6
    assert time.monotonic() - start >= 1.0
    assert await JobEffect.count().where(JobEffect.seq == 6) == 1


async def test_a_unique_job_is_queued_once_while_it_waits(jobs: JobQueue) -> None:
    first = await record.using(unique="nightly", run_after=1).enqueue(7)
    again = await record.using(unique="nightly").enqueue(8)
    assert again.id == first.id
    async with asyncio.timeout(20):
        assert await again.result() == 7
    # Done, the key is free again: the next is a new job.
    later = await record.using(unique="nightly").enqueue(9)
    assert later.id != first.id
    async with asyncio.timeout(20):
        assert await later.result() == 9
    assert await JobRun.count().where(JobRun.seq == 8) == 0


async def test_jobs_are_listed_newest_first_by_status(jobs: JobQueue) -> None:
    done = await record.enqueue(10)
    async with asyncio.timeout(20):
        await done.result()
    waiting = await record.using(run_after=60).enqueue(11)
    try:
        scheduled = [state.id for state in await jobs.states(status="scheduled")]
        assert waiting.id in scheduled
        assert done.id not in scheduled
        newest = await jobs.states(limit=2)
        assert [state.id for state in newest] == [waiting.id, done.id]
    finally:
        await waiting.cancel()


def test_a_task_must_be_async_and_uniquely_named() -> None:
    with pytest.raises(JobsError, match="not async"):
        task()(lambda: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(JobsError, match="already defined"):

        @task(name="tests.record")
        async def record_again() -> None: ...


def test_run_after_needs_an_aware_time() -> None:
    with pytest.raises(JobsError, match="aware"):
        record.using(run_after=datetime(2030, 1, 1))


async def test_pruning_deletes_ended_jobs_and_keeps_the_rest(jobs: JobQueue) -> None:
    done = await record.enqueue(14)
    failed = await flaky.enqueue(15, failures=5)
    async with asyncio.timeout(20):
        await done.result()
        with pytest.raises(JobFailed):
            await failed.result()
    waiting = await record.using(run_after=60).enqueue(16)
    try:
        assert await jobs.prune(timedelta(days=1)) == 0  # nothing ended that long ago
        assert await jobs.prune(timedelta(0), batch=1) >= 2  # in batches until none is left
        assert await jobs.state(done.id) is None
        assert await jobs.state(failed.id) is None
        assert (await waiting.state()).status == "scheduled"
    finally:
        await waiting.cancel()
