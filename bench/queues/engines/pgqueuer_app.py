"""pgqueuer 1.6 on PostgreSQL via asyncpg (JOBS_URL=postgresql://…).

Schema:  pgq install            (PGDSN=$JOBS_URL)
Worker:  pgq run engines.pgqueuer_app:create_pgqueuer --batch-size 5 --max-concurrent-tasks 10
Enqueue: python -m engines.pgqueuer_app enqueue RUN N RATE CONC [SLEEP]
Env: PGQ_NO_STMT_CACHE=1 -> asyncpg statement_cache_size=0 (needed behind PgBouncer transaction
     mode)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from pgqueuer import AsyncpgPoolDriver, PgQueuer, Queries
from pgqueuer.models import Job

from .common import drive, emit, job_body, parse_enqueue_args, report

URL = os.environ["JOBS_URL"]
CONN_KW: dict[str, int] = {"statement_cache_size": 0} if os.environ.get("PGQ_NO_STMT_CACHE") else {}


async def noop(job: Job) -> None:
    p = json.loads(job.payload)
    if p.get("sleep"):
        report(ev="attempt", run=p["run"], seq=p["seq"], attempts=None, t=time.time())
    await job_body(p["run"], p["seq"], p["enq"], p.get("sleep", 0.0))


@asynccontextmanager
async def create_pgqueuer() -> AsyncIterator[PgQueuer]:
    conn = await asyncpg.connect(URL, **CONN_KW)
    pgq = PgQueuer.from_asyncpg_connection(conn)
    # Registered by call rather than as a decorator: pgqueuer is untyped for mypy here, and an
    # untyped decorator would erase noop's signature.
    pgq.entrypoint("noop")(noop)
    try:
        yield pgq
    finally:
        await conn.close()


async def enqueue_main(argv: list[str]) -> None:
    a = parse_enqueue_args(argv)
    pool = await asyncpg.create_pool(URL, min_size=2, max_size=10, **CONN_KW)
    q = Queries(AsyncpgPoolDriver(pool))

    async def one(run: str, seq: int, enq: float, sleep: float) -> None:
        payload = {"run": run, "seq": seq, "enq": enq, "sleep": sleep}
        await q.enqueue("noop", json.dumps(payload).encode())

    res = await drive(one, a["n"], a["rate"], a["conc"], a["run"], a["sleep"])
    await pool.close()
    emit(res)


if __name__ == "__main__" and sys.argv[1] == "enqueue":
    asyncio.run(enqueue_main(sys.argv[2:]))
