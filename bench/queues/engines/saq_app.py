"""SAQ 0.26 on Redis or PostgreSQL (JOBS_URL=redis://… or postgresql://…).

Worker:  saq engines.saq_app.settings          (the SAQ CLI; concurrency 10)
Enqueue: python -m engines.saq_app enqueue RUN N RATE CONC [SLEEP]
Env knobs for the pooler/durability experiments:
  SAQ_POLL=0.5        poll every 0.5 s instead of LISTEN/NOTIFY (PostgreSQL only)
  SAQ_NO_PREPARE=1    psycopg prepare_threshold=None (no server-side prepared statements)
  SAQ_TIMEOUT / SAQ_RETRIES / SAQ_HEARTBEAT   job options used at enqueue
  SAQ_SWEEP=60        worker sweep timer (s)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from saq import Queue

from .common import drive, emit, job_body, parse_enqueue_args, report

URL = os.environ["JOBS_URL"]


def make_queue() -> Queue:
    if URL.startswith("postgres") and os.environ.get("SAQ_NO_PREPARE"):
        # Imported only here: the Redis variant runs without psycopg's pool being importable.
        from psycopg_pool import AsyncConnectionPool
        from saq.queue.postgres import PostgresQueue

        pool = AsyncConnectionPool(
            URL,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": None},
            check=AsyncConnectionPool.check_connection,
        )
        return PostgresQueue(pool=pool, manage_pool_lifecycle=True)
    return Queue.from_url(URL)


queue = make_queue()


async def noop(ctx: dict[str, Any], *, run: str, seq: int, enq: float, sleep: float = 0.0) -> int:
    job = ctx.get("job")
    if sleep:
        report(
            ev="attempt", run=run, seq=seq, attempts=getattr(job, "attempts", None), t=time.time()
        )
    return await job_body(run, seq, enq, sleep)


settings: dict[str, Any] = {
    "queue": queue,
    "functions": [noop],
    "concurrency": 10,
    "poll_interval": float(os.environ.get("SAQ_POLL", "0")),
    "timers": {"sweep": int(os.environ.get("SAQ_SWEEP", "60"))},
}


async def enqueue_main(argv: list[str]) -> None:
    a = parse_enqueue_args(argv)
    await queue.connect()
    opts: dict[str, int] = {}
    for env, key in (
        ("SAQ_TIMEOUT", "timeout"),
        ("SAQ_RETRIES", "retries"),
        ("SAQ_HEARTBEAT", "heartbeat"),
    ):
        if os.environ.get(env):
            opts[key] = int(os.environ[env])

    async def one(run: str, seq: int, enq: float, sleep: float) -> None:
        await queue.enqueue("noop", run=run, seq=seq, enq=enq, sleep=sleep, **opts)

    res = await drive(one, a["n"], a["rate"], a["conc"], a["run"], a["sleep"])
    await queue.disconnect()
    emit(res)


if __name__ == "__main__" and sys.argv[1] == "enqueue":
    asyncio.run(enqueue_main(sys.argv[2:]))
