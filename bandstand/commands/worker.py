"""`piccolo project worker`: run background jobs beside the web processes, until SIGTERM or
SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Sequence

from bandstand.database.engine import connected, engine_for
from bandstand.features import Feature, with_framework
from bandstand.jobs.queue import JobQueue, use_queue
from bandstand.jobs.worker import Site, Worker
from bandstand.settings import Settings, get_settings
from bandstand.storage.backends import create_storage


def worker_command(features: Sequence[Feature]) -> Callable[[], Awaitable[None]]:
    async def worker() -> None:
        """
        Run the site's background jobs until SIGTERM or SIGINT, with JOBS_CONCURRENCY at a time;
        on the signal, running jobs get some seconds to finish, and any left are taken up by
        another worker at once. Run as many as the work needs.
        """
        await run_worker(get_settings(), with_framework(features))

    return worker


async def run_worker(settings: Settings, features: Sequence[Feature]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    queue = JobQueue(settings)
    use_queue(queue)
    engine = engine_for(settings)
    storage = create_storage(settings)
    async with connected(engine), contextlib.aclosing(storage):
        job_worker = Worker(queue, Site(features, engine, storage))
        await job_worker.start()
        where = queue.database.redacted
        print(f"worker: {job_worker.executor_id} takes jobs from {where}", flush=True)
        try:
            await stop.wait()
        finally:
            await job_worker.stop()
            await queue.aclose()
