"""procrastinate 3.10 on PostgreSQL (JOBS_URL=postgresql://…).

Schema:  procrastinate --app=engines.procrastinate_app.app schema --apply
Worker:  procrastinate --app=engines.procrastinate_app.app worker -c 10 [--no-listen-notify -p 0.5]
Enqueue: python -m engines.procrastinate_app enqueue RUN N RATE CONC [SLEEP]
Env: PROC_NO_PREPARE=1 (psycopg prepare_threshold=None), PROC_RECOVER_CRON="* * * * * */5"
     (croniter: 6th field = seconds) registers the documented "retry stalled jobs" periodic task
     (seconds-resolution cron).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy

from .common import drive, emit, job_body, parse_enqueue_args, report

URL = os.environ["JOBS_URL"]
_kwargs: dict[str, Any] = {"prepare_threshold": None} if os.environ.get("PROC_NO_PREPARE") else {}
app = App(connector=PsycopgConnector(conninfo=URL, kwargs=_kwargs))


async def noop(context: JobContext, run: str, seq: int, enq: float, sleep: float = 0.0) -> int:
    if sleep:
        report(ev="attempt", run=run, seq=seq, attempts=context.job.attempts, t=time.time())
    return await job_body(run, seq, enq, sleep)


# Registered by call rather than as decorators: procrastinate is untyped for mypy here, and an
# untyped decorator would erase the functions' signatures.
noop_task = app.task(
    name="noop",
    pass_context=True,
    retry=RetryStrategy(max_attempts=3, wait=1, exponential_wait=2),
)(noop)


async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    # The pattern from procrastinate's docs: jobs whose worker stopped heart-beating.
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=float(os.environ.get("PROC_STALLED_S", "30"))
    )
    for job in stalled:
        report(ev="recover", job_id=job.id, t=time.time())
        await app.job_manager.retry_job(job)


if os.environ.get("PROC_RECOVER_CRON"):
    app.periodic(cron=os.environ["PROC_RECOVER_CRON"])(
        app.task(queueing_lock="retry_stalled_jobs", pass_context=True)(retry_stalled_jobs)
    )


async def enqueue_main(argv: list[str]) -> None:
    a = parse_enqueue_args(argv)
    async with app.open_async():

        async def one(run: str, seq: int, enq: float, sleep: float) -> None:
            await noop_task.defer_async(run=run, seq=seq, enq=enq, sleep=sleep)

        res = await drive(one, a["n"], a["rate"], a["conc"], a["run"], a["sleep"])
    emit(res)


if __name__ == "__main__" and sys.argv[1] == "enqueue":
    asyncio.run(enqueue_main(sys.argv[2:]))
