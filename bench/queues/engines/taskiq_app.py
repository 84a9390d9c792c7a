"""taskiq 0.13 with taskiq-redis (RedisStreamBroker, acked) or taskiq-postgres (AsyncpgBroker).

Worker:  taskiq worker engines.taskiq_app:broker --workers 1 --max-async-tasks 10
Enqueue: python -m engines.taskiq_app enqueue RUN N RATE CONC [SLEEP]
Env: JOBS_URL=redis://… or postgresql://…; TASKIQ_IDLE_MS (stream redelivery idle timeout,
     default 600000 = taskiq-redis default); TASKIQ_LIST=1 uses ListQueueBroker instead.
"""

from __future__ import annotations

import asyncio
import os
import sys

from taskiq import AsyncBroker

from .common import drive, emit, job_body, parse_enqueue_args

URL = os.environ["JOBS_URL"]


def make_broker() -> AsyncBroker:
    # Imports are per backend: each backend's package is only needed when it is used.
    if URL.startswith("redis"):
        from taskiq_redis import ListQueueBroker, RedisStreamBroker

        if os.environ.get("TASKIQ_LIST"):
            return ListQueueBroker(URL)
        return RedisStreamBroker(
            URL,
            idle_timeout=int(os.environ.get("TASKIQ_IDLE_MS", "600000")),
            unacknowledged_lock_timeout=30,
        )
    from taskiq_pg.asyncpg import AsyncpgBroker

    kw = {"statement_cache_size": 0} if os.environ.get("PGQ_NO_STMT_CACHE") else {}
    return AsyncpgBroker(dsn=URL, read_kwargs=dict(kw), write_kwargs=dict(kw))


broker = make_broker()


async def noop(run: str, seq: int, enq: float, sleep: float = 0.0) -> int:
    return await job_body(run, seq, enq, sleep)


# Registered by call rather than as a decorator: taskiq is untyped for mypy here, and an untyped
# decorator would erase noop's signature.
noop_task = broker.task(task_name="noop")(noop)


async def enqueue_main(argv: list[str]) -> None:
    a = parse_enqueue_args(argv)
    await broker.startup()

    async def one(run: str, seq: int, enq: float, sleep: float) -> None:
        await noop_task.kiq(run=run, seq=seq, enq=enq, sleep=sleep)

    res = await drive(one, a["n"], a["rate"], a["conc"], a["run"], a["sleep"])
    await broker.shutdown()
    emit(res)


if __name__ == "__main__" and sys.argv[1] == "enqueue":
    asyncio.run(enqueue_main(sys.argv[2:]))
