"""The worker: a DBOS instance that takes jobs from the queues, in the web process
(`JOBS_IN_PROCESS`) or in `piccolo project worker`. One per process: DBOS is a singleton.

Each attempt runs on the event loop that started the worker, where the site's database pool
lives; DBOS runs its workflows on a loop of its own, on another thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import secrets
import socket
from collections.abc import Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from bandstand.jobs.errors import JobsError
from bandstand.jobs.tables import JobWorker

if TYPE_CHECKING:
    import sqlalchemy
    from dbos import DBOSConfig, ScheduleInput
    from piccolo.engine.base import Engine

    from bandstand.features import Feature
    from bandstand.jobs.queue import JobQueue
    from bandstand.jobs.tasks import Task
    from bandstand.storage.base import Storage

T = TypeVar("T")
logger = logging.getLogger("bandstand.jobs")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How often a running job's cancellation by another process is looked for.
CANCEL_CHECK_SECONDS = 1.0

_current: dict[str, Worker] = {}


@dataclass(frozen=True)
class Site:
    """The site a worker runs jobs for: its features (the framework's first), the engine its
    tables are on, and its uploads' storage."""

    features: Sequence[Feature]
    engine: Engine  # type: ignore[type-arg]
    storage: Storage
    name: str = "Bandstand"  # as in its pages and e-mails


def current() -> Worker:
    worker = _current.get("worker")
    if worker is None:
        raise JobsError("no job worker runs in this process")
    return worker


def current_or_none() -> Worker | None:
    return _current.get("worker")


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        site: Site | None = None,
        *,
        grace_seconds: float = 10.0,
    ) -> None:
        self.queue = queue
        self.settings = queue.settings
        self._site = site
        self.grace_seconds = grace_seconds
        self.executor_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._engine: sqlalchemy.Engine | None = None  # ours to dispose: DBOS leaves it open
        self._chores: list[asyncio.Task[None]] = []

    @property
    def site(self) -> Site:
        """What the jobs of the site work with; a worker started without it runs only tasks
        that need none of it."""
        if self._site is None:
            raise JobsError("this worker was started without the site (features, engine, storage)")
        return self._site

    # -- start and stop

    async def start(self) -> None:
        # The first import of DBOS reads hundreds of files: not on the event loop.
        await asyncio.to_thread(importlib.import_module, "dbos")
        from dbos import DBOS

        from bandstand.jobs.tasks import DEFAULT_QUEUE, TASKS

        if "worker" in _current:
            raise JobsError("a job worker already runs in this process (DBOS allows one)")
        self._loop = asyncio.get_running_loop()
        _current["worker"] = self
        try:
            # Creates the queue's tables before DBOS reads them.
            await self._drop_stale_schedules(TASKS.values())
            for task in TASKS.values():  # DBOS reads its registry of workflows at launch
                task.register()
            await asyncio.to_thread(self._launch)
            for name in sorted({DEFAULT_QUEUE, *(task.queue for task in TASKS.values())}):
                await DBOS.register_queue_async(
                    name,
                    worker_concurrency=self.settings.jobs_concurrency,
                    polling_interval_sec=self.settings.jobs_poll_seconds,
                )
            await self._schedule(TASKS.values())
            await self._beat()
            await self._recover_dead_workers()
        except BaseException:
            await self.stop()
            raise
        self._chores = [
            asyncio.create_task(self._every(self.settings.jobs_lease_seconds / 3, self._lease)),
            asyncio.create_task(self._every(CANCEL_CHECK_SECONDS, self._interrupt_cancelled)),
        ]
        logger.info("job worker %s started", self.executor_id)

    def _launch(self) -> None:
        from dbos import DBOS

        database = self.queue.database
        config: DBOSConfig = {
            "name": "bandstand",
            "system_database_url": database.url,
            "executor_id": self.executor_id,
            "application_version": "bandstand",
            "log_level": "WARNING",
            # LISTEN/NOTIFY does not survive a transaction-mode pooler; DBOS polls instead.
            "use_listen_notify": False,
            "notification_listener_polling_interval_sec": 0.1,
        }
        if not database.is_sqlite:
            self._engine = database.engine(pool_size=self.settings.jobs_concurrency + 5)
            config["system_database_engine"] = self._engine
        DBOS(config=config)
        DBOS.launch()

    async def _schedule(self, tasks: Iterable[Task[Any, Any]]) -> None:
        """The cron tasks' schedules, as this code has them: DBOS keeps them in its database,
        and its scheduler gives each run an id of the schedule and the time, so that the
        workers that all fire it queue one job."""
        from dbos import DBOS

        schedules: list[ScheduleInput] = [
            {
                "schedule_name": task.name,
                "workflow_fn": cast(Any, task.workflow),
                "schedule": task.cron,
                "queue_name": task.queue,
            }
            for task in tasks
            if task.cron is not None
        ]
        if schedules:
            await DBOS.apply_schedules_async(schedules)

    async def _drop_stale_schedules(self, tasks: Iterable[Task[Any, Any]]) -> None:
        """Before launch, when DBOS's scheduler would fire them: the schedules of crons the
        code no longer has (their jobs could only fail)."""
        client = await self.queue.client()
        wanted = {task.name for task in tasks if task.cron is not None}
        for stale in await client.list_schedules_async():
            if stale["schedule_name"] not in wanted:
                await client.delete_schedule_async(stale["schedule_name"])

    async def stop(self) -> None:
        """Let running jobs finish for up to `grace_seconds`, then leave; a job still running is
        taken up by the next worker at once (the heartbeat is left expired)."""
        from dbos import DBOS

        for chore in self._chores:
            chore.cancel()
        for chore in self._chores:
            with contextlib.suppress(asyncio.CancelledError):
                await chore
        self._chores = []
        if _current.get("worker") is not self:
            return
        try:
            await asyncio.to_thread(
                DBOS.destroy, workflow_completion_timeout_sec=int(self.grace_seconds)
            )
            # DBOS made its thread pool this loop's default executor, and has shut it down.
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
            if self._engine is not None:
                await asyncio.to_thread(self._engine.dispose)
            for job in list(self._running.values()):
                job.cancel()
            with contextlib.suppress(Exception):  # the database may be what went away
                await JobWorker.update({JobWorker.heartbeat_at: EPOCH}).where(
                    JobWorker.executor_id == self.executor_id
                )
        finally:
            del _current["worker"]
            logger.info("job worker %s stopped", self.executor_id)

    # -- running attempts

    async def run(self, attempt: Coroutine[Any, Any, T]) -> T:
        """Run one attempt of a job on the worker's loop (called from DBOS's)."""
        from dbos import DBOS

        assert self._loop is not None
        job_id = DBOS.workflow_id
        future = asyncio.run_coroutine_threadsafe(self._tracked(job_id, attempt), self._loop)
        return await asyncio.wrap_future(future)

    async def _tracked(self, job_id: str | None, attempt: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(attempt)
        if job_id is not None:
            self._running[job_id] = task
        try:
            return await task
        finally:
            if job_id is not None:
                self._running.pop(job_id, None)

    def interrupt(self, job_id: str) -> None:
        task = self._running.get(job_id)
        if task is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(task.cancel)

    async def _interrupt_cancelled(self) -> None:
        if not self._running:
            return
        states = await self.queue.states(ids=list(self._running))
        for state in states:
            if state.status == "cancelled":
                self.interrupt(state.id)

    # -- leases

    async def _every(self, seconds: float, chore: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await chore()
            except Exception:  # a chore tries again next time; the worker goes on
                logger.exception("job worker %s: %s failed", self.executor_id, chore.__name__)

    async def _lease(self) -> None:
        await self._beat()
        await self._recover_dead_workers()

    async def _beat(self) -> None:
        now = datetime.now(UTC)
        beaten = (
            await JobWorker.update({JobWorker.heartbeat_at: now})
            .where(JobWorker.executor_id == self.executor_id)
            .returning(JobWorker.id)
        )
        if not beaten:
            # New, or given up for dead by another worker after a pause longer than the lease
            # (its jobs were queued again): it is alive, so it says so again.
            await JobWorker.insert(
                JobWorker(
                    executor_id=self.executor_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    async def _recover_dead_workers(self) -> None:
        """Re-queue the running jobs of every worker whose lease has expired. Two workers doing
        it for the same dead one is harmless: DBOS re-queues a job only while it is still
        marked as that worker's."""
        from dbos import DBOS

        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.jobs_lease_seconds)
        dead = await JobWorker.select(JobWorker.executor_id).where(JobWorker.heartbeat_at < cutoff)
        for row in dead:
            executor_id = row["executor_id"]
            handles = await asyncio.to_thread(DBOS._recover_pending_workflows, [executor_id])
            await JobWorker.delete().where(JobWorker.executor_id == executor_id)
            logger.log(
                logging.WARNING if handles else logging.INFO,
                "job worker %s: worker %s is gone; %d of its jobs queued again",
                self.executor_id,
                executor_id,
                len(handles),
            )
