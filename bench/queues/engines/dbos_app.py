"""DBOS Transact 3.4 durable queue; system database SQLite or PostgreSQL (JOBS_URL).

Worker:  python -m engines.dbos_app worker   (DBOS.launch() + a queue with worker_concurrency=10)
Enqueue: python -m engines.dbos_app enqueue RUN N RATE CONC [SLEEP]  (DBOSClient, no app code)
Env: DBOS_POLL (queue polling interval, default 1.0 = DBOS default), DBOS_LISTEN=0
     (use_listen_notify False), DBOS_NO_PREPARE=1 (psycopg prepare_threshold=None via
     db_engine_kwargs), DBOS__VMID (executor id; DBOS default "local").
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

from dbos import DBOS, DBOSClient, DBOSConfig

from .common import drive, emit, job_body, parse_enqueue_args, report

URL = os.environ["JOBS_URL"]
QUEUE = "bench"


def _config() -> DBOSConfig:
    cfg: DBOSConfig = {"name": "jobs-cmp", "system_database_url": URL, "log_level": "WARNING"}
    if os.environ.get("DBOS_LISTEN") == "0":
        cfg["use_listen_notify"] = False
    if os.environ.get("DBOS_NO_PREPARE"):
        cfg["db_engine_kwargs"] = {"connect_args": {"prepare_threshold": None}}
    return cfg


async def noop(run: str, seq: int, enq: float, sleep: float = 0.0) -> int:
    if sleep:
        report(ev="attempt", run=run, seq=seq, attempts=None, t=time.time())
    return await job_body(run, seq, enq, sleep)


# Registered by call rather than as a decorator: dbos ships no type information for mypy here,
# and an untyped decorator would erase noop's signature.
noop_workflow = DBOS.workflow(name="noop")(noop)


def worker_main() -> None:
    DBOS(config=_config())
    DBOS.launch()
    DBOS.register_queue(
        QUEUE,
        worker_concurrency=10,
        polling_interval_sec=float(os.environ.get("DBOS_POLL", "1.0")),
    )
    report(ev="ready", t=time.time())
    # Jobs run on DBOS's own threads; the main thread only has to stay alive.
    threading.Event().wait()


async def enqueue_main(argv: list[str]) -> None:
    a = parse_enqueue_args(argv)
    if os.environ.get("DBOS_NO_PREPARE"):
        # Imported only here: it comes with dbos, and only this variant needs an explicit engine.
        import sqlalchemy as sa

        engine = sa.create_engine(
            URL.replace("postgresql://", "postgresql+psycopg://", 1),
            connect_args={"prepare_threshold": None},
        )
        client = DBOSClient(system_database_engine=engine, application_name="jobs-cmp")
    else:
        client = DBOSClient(system_database_url=URL, application_name="jobs-cmp")

    async def one(run: str, seq: int, enq: float, sleep: float) -> None:
        await client.enqueue_async(
            {"queue_name": QUEUE, "workflow_name": "noop"}, run, seq, enq, sleep
        )

    res = await drive(one, a["n"], a["rate"], a["conc"], a["run"], a["sleep"])
    client.destroy()
    emit(res)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        worker_main()
    elif sys.argv[1] == "enqueue":
        asyncio.run(enqueue_main(sys.argv[2:]))
