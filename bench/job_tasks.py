"""The job `make bench` times, and the worker process that runs it:
`python -m bench.job_tasks` is `piccolo project worker` knowing this task too."""

from __future__ import annotations

import asyncio
import time

from bandstand.jobs import task


@task(name="bench.stamp")
async def stamp(enqueued_at: float) -> tuple[float, float]:
    """Does nothing but say when it started (and was queued): the queue's own cost."""
    return enqueued_at, time.time()


if __name__ == "__main__":
    from bandstand.commands.worker import run_worker
    from bandstand.features import with_framework
    from bandstand.settings import get_settings

    asyncio.run(run_worker(get_settings(), with_framework(())))
