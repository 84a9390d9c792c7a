"""Jobs through a real PgBouncer in transaction mode, TLS verified on both sides: two worker
processes and the enqueuing process share its 2 server connections, with nothing but the one
DATABASE_URL changed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator

import msgspec
import pytest

from bandstand.jobs import JobQueue
from bandstand.jobs.queue import use_queue
from bandstand.settings import get_settings
from bandstand.testing.database import run_piccolo
from tests.jobs.tasks import count_users
from tests.jobs.test_workers import stop, worker
from tests.support.postgres_servers import PgBouncer
from tests.support.waiting import until

pytestmark = pytest.mark.engine_independent

JOBS = 200


@pytest.fixture(scope="module")
def bouncer_url(pgbouncer: PgBouncer) -> str:
    url = pgbouncer.url(sslmode="verify-full", sslrootcert=str(pgbouncer.ca_cert))
    migrated: subprocess.CompletedProcess[str] = run_piccolo(
        "migrations", "forwards", "all", database_url=url
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    return url


@pytest.fixture
async def queue(bouncer_url: str) -> AsyncIterator[JobQueue]:
    queue = JobQueue(msgspec.structs.replace(get_settings(), database_url=bouncer_url))
    use_queue(queue)
    yield queue
    await queue.aclose()


async def test_two_workers_run_every_job_through_pgbouncer(
    queue: JobQueue, bouncer_url: str
) -> None:
    limit = asyncio.Semaphore(5)

    async def one(plus: int) -> str:
        async with limit:
            return (await count_users.enqueue(plus)).id

    ids = await asyncio.gather(*(one(plus) for plus in range(JOBS)))
    command = (sys.executable, "-m", "tests.jobs.worker_process")
    errors = []
    async with (
        worker(*command, DATABASE_URL=bouncer_url) as first,
        worker(*command, DATABASE_URL=bouncer_url) as second,
    ):

        async def all_done() -> bool:
            return len(await queue.states(ids=ids, status="done", limit=JOBS)) == JOBS

        await until(all_done, seconds=120, every=0.2)
        for process in (first, second):
            assert await stop(process) == 0
            assert process.stderr is not None
            errors.append((await process.stderr.receive()).decode())
    # The same answer from every job: each ran the query on the site's tables through PgBouncer.
    results = {await queue.result(job_id) - plus for plus, job_id in enumerate(ids)}
    assert len(results) == 1
    assert await queue.progress(ids[0]) == {"done": 1, "total": 2, "message": "counting"}
    # psycopg's prepared statements or a LISTEN would show here, retried or not.
    for output in errors:
        assert "prepared statement" not in output, output
        assert "Traceback" not in output, output
