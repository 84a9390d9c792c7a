"""Worker processes: `piccolo project worker` takes jobs queued before it started, and two
workers share a thousand jobs, one SIGKILLed mid-run, with every job's work done exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process

from bandstand.email.mailer import Mailer
from bandstand.email.messages import compose
from bandstand.jobs import Job, JobQueue
from bandstand.jobs.queue import use_queue
from bandstand.jobs.tasks import TASKS
from bandstand.settings import get_settings
from tests.jobs.tasks import JobEffect, JobRun, record
from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO
from tests.support.smtp_server import SMTPServer, smtp_server
from tests.support.waiting import until

JOBS = 1000
CONCURRENCY = 10
LEASE_SECONDS = 3


@pytest.fixture
async def queue() -> AsyncIterator[JobQueue]:
    """The run's queue, in a test process that runs no jobs itself: workers do."""
    queue = JobQueue(get_settings())
    use_queue(queue)
    yield queue
    await queue.aclose()


@asynccontextmanager
async def worker(*command: str, **environ: str) -> AsyncIterator[Process]:
    process = await anyio.open_process(
        list(command),
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "JOBS_CONCURRENCY": str(CONCURRENCY),
            "JOBS_LEASE_SECONDS": str(LEASE_SECONDS),
            **environ,
        },
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await process.aclose()


async def stop(process: Process) -> int:
    process.send_signal(signal.SIGTERM)
    with anyio.fail_after(30):
        return await process.wait()


async def all_done(count: Awaitable[int]) -> bool:
    return await count >= JOBS


# Every LONG-th job works for LONG_SECONDS, the others a moment: the kill waits until the
# worker to kill is inside a long one, which it then surely cuts short.
LONG = 50
LONG_SECONDS = 3.0


async def enqueue_all(count: int) -> list[Job]:
    limit = asyncio.Semaphore(5)  # the client's pool

    async def one(seq: int) -> Job:
        async with limit:
            return await record.enqueue(seq, LONG_SECONDS if seq % LONG == 0 else 0.05)

    return list(await asyncio.gather(*(one(seq) for seq in range(count))))


async def test_two_workers_share_a_thousand_jobs_and_one_killed_loses_none(
    queue: JobQueue, job_tables: None
) -> None:
    jobs = await enqueue_all(JOBS)  # queued while no worker runs
    command = (sys.executable, "-m", "tests.jobs.worker_process")
    async with worker(*command) as killed, worker(*command) as survivor:

        async def inside_a_long_job() -> bool:  # started by the one to kill, not finished
            started = await JobRun.select(JobRun.seq).where(JobRun.pid == killed.pid)
            long_ones = {row["seq"] for row in started if row["seq"] % LONG == 0}
            finished = await JobEffect.select(JobEffect.seq).where(
                JobEffect.seq.is_in(list(long_ones) or [-1])
            )
            return bool(long_ones - {row["seq"] for row in finished})

        await until(inside_a_long_job, seconds=60)
        killed.kill()  # SIGKILL: no chance to finish or hand back its jobs
        assert await killed.wait() == -signal.SIGKILL
        await until(lambda: all_done(JobEffect.count()), seconds=120, every=0.2)

        async def all_recorded_done() -> bool:  # a job's effect is in just before its status
            states = await queue.states(ids=[job.id for job in jobs], limit=JOBS)
            return Counter(state.status for state in states) == {"done": JOBS}

        await until(all_recorded_done, seconds=30, every=0.2)
        assert await stop(survivor) == 0

    # Every job's work done once: the effects, counted and summed.
    seqs = await JobEffect.select(JobEffect.seq).output(as_list=True)
    assert len(seqs) == JOBS
    assert sum(seqs) == JOBS * (JOBS - 1) // 2
    # Runs: only the jobs the killed worker had in hand ran twice, each once more.
    runs = await JobRun.select(JobRun.seq, JobRun.pid)
    by_seq = Counter(run["seq"] for run in runs)
    assert set(by_seq) == set(range(JOBS))
    again = {seq for seq, count in by_seq.items() if count > 1}
    assert all(by_seq[seq] == 2 for seq in again)
    killed_ran = {run["seq"] for run in runs if run["pid"] == killed.pid}
    assert killed_ran, "the killed worker ran nothing: the test did not test recovery"
    assert again, "no job was cut short by the kill: the test did not test recovery"
    assert again <= killed_ran
    assert len(again) <= CONCURRENCY


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[SMTPServer]:
    with smtp_server(tmp_path) as server:
        yield server


async def test_the_worker_command_sends_mail_queued_before_it_started(
    queue: JobQueue, mail_server: SMTPServer
) -> None:
    mailer = await anyio.to_thread.run_sync(lambda: Mailer(get_settings()))
    message = compose(
        subject="Queued", to=["zoe@example.com"], text="Sent by a job.\n", from_email="a@b.org"
    )
    job = await mailer.send_later(message)
    assert (await job.state()).status == "queued"
    smtp = {"EMAIL_BACKEND": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(mail_server.port)}
    async with worker(PICCOLO, "project", "worker", **smtp) as process:
        with anyio.fail_after(30):
            await job.result()
        assert await stop(process) == 0
        assert process.stdout is not None
        output = (await process.stdout.receive()).decode()
    assert "takes jobs from" in output
    assert [received.message["Subject"] for received in mail_server.received] == ["Queued"]


async def test_a_cron_task_runs_once_per_tick_whatever_the_workers(
    queue: JobQueue, job_tables: None
) -> None:
    from tests.jobs.cron_tasks import CronTick, every_second

    await CronTick.create_table(if_not_exists=True)
    await CronTick.delete(force=True)
    command = (sys.executable, "-m", "tests.jobs.worker_process")
    try:
        # Two workers that both know the schedule, each firing it every second.
        async with worker(*command, TESTS_CRON="1") as first, worker(*command, TESTS_CRON="1"):
            await until(lambda: ticks_at_least(CronTick.count(), 4), seconds=30, every=0.2)
            assert await stop(first) == 0
        rows = await CronTick.select(CronTick.scheduled_at, CronTick.pid)
        times = [row["scheduled_at"] for row in rows]
        assert len(times) == len(set(times)), "a tick ran more than once"
        # One second apart, as the schedule says (allowing for ticks before both started).
        assert all(time.microsecond == 0 for time in times)
    finally:
        # Out of this process's registry, and its schedule and jobs out of the queue, so that
        # no later worker here fires or meets it.
        TASKS.pop(every_second.name)
        client = await queue.client()
        await client.delete_schedule_async(every_second.name)
        fired = await client.list_workflows_async(name=every_second.name, load_output=False)
        await client.delete_workflows_async([status.workflow_id for status in fired])


async def ticks_at_least(count: Awaitable[int], wanted: int) -> bool:
    return await count >= wanted
