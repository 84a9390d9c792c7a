"""The jobs tests' own tasks and tables, imported by the test process and by the worker
processes the tests start (tests/jobs/worker_process.py), which must know the same tasks."""

from __future__ import annotations

import asyncio
import os

from piccolo.columns import Integer, Serial, Varchar
from piccolo.table import Table

from bandstand.jobs import PermanentFailure, report_progress, task


class JobRun(Table):
    """One row per attempt a worker started: which job, in which process."""

    id: Serial
    seq = Integer(index=True)
    pid = Integer()
    note = Varchar(length=100)


class JobEffect(Table):
    """What a job did, once: a second run of the same job finds its row and adds none."""

    id: Serial
    seq = Integer(unique=True)


TABLES = (JobRun, JobEffect)


async def create_tables() -> None:
    for table in TABLES:
        await table.create_table(if_not_exists=True)
        await table.delete(force=True)


@task(name="tests.record")
async def record(seq: int, seconds: float = 0.0) -> int:
    """Notes the attempt, works for `seconds`, then does its effect once (an idempotent job,
    as a job that may be run again must be)."""
    await JobRun.insert(JobRun(seq=seq, pid=os.getpid()))
    await asyncio.sleep(seconds)
    await JobEffect.insert(JobEffect(seq=seq)).on_conflict(action="DO NOTHING")
    return seq


@task(name="tests.count_users")
async def count_users(plus: int) -> int:
    """Uses the site's database from the job: on PostgreSQL, asyncpg's pool belongs to the loop
    that made it, so this fails if the job runs on another."""
    from bandstand.accounts.users import User

    await report_progress(1, 2, "counting")
    users: int = await User.count()
    return users + plus


@task(name="tests.flaky", retries=2, backoff_seconds=0.05)
async def flaky(seq: int, failures: int, permanent: bool = False) -> int:
    """Fails its first `failures` attempts, as a failure worth trying again unless
    `permanent`."""
    await JobRun.insert(JobRun(seq=seq, pid=os.getpid()))
    attempts: int = await JobRun.count().where(JobRun.seq == seq)
    if attempts <= failures:
        failure = PermanentFailure if permanent else ConnectionError
        raise failure(f"attempt {attempts} failed")
    return attempts


@task(name="tests.slow", timeout_seconds=0.5, retries=1, backoff_seconds=0.01)
async def slow(seq: int, seconds: float) -> None:
    """Outlives its timeout when `seconds` is more than 0.5; notes how far it got."""
    await JobRun.insert(JobRun(seq=seq, pid=os.getpid(), note="started"))
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        await asyncio.shield(JobRun.insert(JobRun(seq=seq, pid=os.getpid(), note="interrupted")))
        raise
    await JobRun.insert(JobRun(seq=seq, pid=os.getpid(), note="finished"))
