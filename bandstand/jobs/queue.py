"""The queue as the site sees it: enqueue, look at, wait for and cancel jobs. It works in any
process (a web process that runs no jobs, a command), through a DBOS client, which runs no job
code."""

from __future__ import annotations

import asyncio
import functools
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from bandstand.database.url import DatabaseURLError
from bandstand.jobs import sqlite_compat
from bandstand.jobs.errors import JobFailed, JobsError
from bandstand.jobs.system_database import SystemDatabase, system_database

if TYPE_CHECKING:
    # Imported when first used, as the tasks do: see `Task.register`.
    import sqlalchemy
    from dbos import DBOSClient, EnqueueOptions
    from dbos._sys_db import WorkflowStatus

    from bandstand.jobs.tasks import Task
    from bandstand.settings import Settings

APPLICATION = "bandstand"
# One version for every process: a job queued before a deploy is run by the code after it (as
# Celery and Django's tasks do), not left for a worker of the old code that no longer exists.
APPLICATION_VERSION = "bandstand"

JobStatus = Literal["scheduled", "queued", "running", "done", "failed", "cancelled"]
_STATUSES: dict[str, JobStatus] = {
    "DELAYED": "scheduled",
    "ENQUEUED": "queued",
    "PENDING": "running",
    "SUCCESS": "done",
    "ERROR": "failed",
    "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "failed",
    "CANCELLED": "cancelled",
}
FINISHED: frozenset[JobStatus] = frozenset({"done", "failed", "cancelled"})


class JobState(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    task: str
    status: JobStatus
    queue: str | None
    created_at: datetime | None
    updated_at: datetime | None
    error: str | None = None
    worker: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def _time(epoch_ms: int | None) -> datetime | None:
    return None if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, UTC)


def _state(status: WorkflowStatus) -> JobState:
    return JobState(
        id=status.workflow_id,
        task=status.name,
        status=_STATUSES.get(status.status, "failed"),
        queue=status.queue_name,
        created_at=_time(status.created_at),
        updated_at=_time(status.updated_at),
        error=None if status.error is None else str(status.error),
        worker=status.executor_id,
    )


@dataclass(frozen=True)
class Job:
    """A handle on one queued job."""

    id: str
    queue: JobQueue

    async def state(self) -> JobState:
        found = await self.queue.state(self.id)
        if found is None:
            raise JobsError(f"no job {self.id}")
        return found

    async def progress(self) -> dict[str, Any] | None:
        """The last `report_progress` of the job: `{"done", "total", "message"}`, or None."""
        return await self.queue.progress(self.id)

    async def result(self) -> Any:
        """Wait for the job's result (under `asyncio.timeout` for a bound); raises `JobFailed` if
        it failed or was cancelled."""
        return await self.queue.result(self.id)

    async def cancel(self) -> None:
        await self.queue.cancel(self.id)


class JobQueue:
    """The jobs in one system database. Connects (and creates the queue's tables) on first use,
    on a thread: DBOS's database calls are synchronous."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: DBOSClient | None = None
        self._engine: sqlalchemy.Engine | None = None  # ours to dispose: DBOS leaves it open
        self._connecting = threading.Lock()

    @functools.cached_property
    def database(self) -> SystemDatabase:
        """Worked out on first use, on a thread (`_connect`): a PostgreSQL URL without a
        password has libpq's password file read."""
        return system_database(self.settings)

    async def client(self) -> DBOSClient:
        if self._client is None:
            await asyncio.to_thread(self._connect)
        assert self._client is not None
        return self._client

    def _connect(self) -> None:
        from dbos import DBOS, DBOSClient

        sqlite_compat.install()
        with self._connecting:
            if self._client is not None:
                return
            try:
                database = self.database
            except DatabaseURLError as error:
                setting = "JOBS_DATABASE_URL" if self.settings.jobs_database_url else "DATABASE_URL"
                raise JobsError(f"{setting}: {error}") from None
            try:
                # The schema a worker would create at launch, made here so that a web process can
                # queue jobs before any worker has started.
                DBOS.migrate(database.url)
                if database.is_sqlite:
                    client = DBOSClient(
                        system_database_url=database.url, application_name=APPLICATION
                    )
                else:
                    self._engine = database.engine(pool_size=5)
                    client = DBOSClient(
                        system_database_engine=self._engine, application_name=APPLICATION
                    )
            except Exception as error:
                raise JobsError(
                    f"the jobs database {database.redacted} cannot be used: {error}"
                ) from error
            self._client = client

    async def enqueue(
        self,
        task: Task[Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        delay: float | None = None,
        unique: str | None = None,
        job_id: str | None = None,
    ) -> Job:
        options: EnqueueOptions = {
            "queue_name": task.queue,
            "workflow_name": task.name,
            "app_version": APPLICATION_VERSION,
        }
        if delay:
            options["delay_seconds"] = delay
        if job_id is not None:
            options["workflow_id"] = job_id
            options["workflow_id_reuse_policy"] = "reject"
        if unique is not None:
            options["deduplication_id"] = unique
            options["duplication_policy"] = "return-existing"
        client = await self.client()
        handle: Any = await client.enqueue_async(options, *args, **kwargs)
        return Job(handle.get_workflow_id(), self)

    def job(self, job_id: str) -> Job:
        return Job(job_id, self)

    async def state(self, job_id: str) -> JobState | None:
        found = await self.states(ids=[job_id])
        return found[0] if found else None

    async def states(
        self,
        *,
        ids: list[str] | None = None,
        status: JobStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobState]:
        """The newest jobs first."""
        client = await self.client()
        raw = None if status is None else [k for k, v in _STATUSES.items() if v == status]
        found = await client.list_workflows_async(
            workflow_ids=ids,
            status=raw,
            limit=limit,
            offset=offset,
            sort_desc=True,
            load_input=False,
            load_output=True,  # where the error is
        )
        return [_state(status) for status in found]

    async def progress(self, job_id: str) -> dict[str, Any] | None:
        from bandstand.jobs.tasks import PROGRESS_EVENT

        client = await self.client()
        value = await client.get_event_async(job_id, PROGRESS_EVENT, timeout_seconds=0)
        return value if isinstance(value, dict) else None

    async def result(self, job_id: str) -> Any:
        client = await self.client()  # DBOS imported, on a thread
        from dbos import error as dbos_errors

        handle: Any = await client.retrieve_workflow_async(job_id)
        try:
            return await handle.get_result(polling_interval_sec=0.05)
        except JobFailed:
            raise
        except dbos_errors.DBOSException as error:  # cancelled, or an error DBOS kept
            raise JobFailed(f"{type(error).__name__}: {error}") from error

    async def cancel(self, job_id: str) -> None:
        """Stop a job: a queued one never runs, a running one is interrupted (at once in this
        process, within a second in another worker)."""
        client = await self.client()
        await client.cancel_workflow_async(job_id)
        from bandstand.jobs import worker

        running = worker.current_or_none()
        if running is not None:
            running.interrupt(job_id)

    async def retry(self, job_id: str) -> Job:
        """Queue a failed or cancelled job again, as a new job with the same task and
        arguments (the old one stays, as it ended)."""
        client = await self.client()
        found = await client.list_workflows_async(
            workflow_ids=[job_id], load_input=True, load_output=False
        )
        if not found:
            raise JobsError(f"no job {job_id}")
        status = found[0]
        if _STATUSES.get(status.status) not in {"failed", "cancelled"}:
            raise JobsError("only a failed or cancelled job can be run again")
        inputs = status.input or {"args": (), "kwargs": {}}
        options: EnqueueOptions = {
            "queue_name": status.queue_name or "default",
            "workflow_name": status.name,
            "app_version": APPLICATION_VERSION,
        }
        handle: Any = await client.enqueue_async(options, *inputs["args"], **inputs["kwargs"])
        return Job(handle.get_workflow_id(), self)

    async def prune(self, older_than: timedelta, batch: int = 1000) -> int:
        """Delete the jobs that ended more than `older_than` ago (done, failed or cancelled),
        with their results and progress; returns how many went."""
        client = await self.client()
        cutoff = (datetime.now(UTC) - older_than).isoformat()
        ended = [raw for raw, status in _STATUSES.items() if status in FINISHED]
        pruned = 0
        while True:
            found = await client.list_workflows_async(
                status=ended,
                completed_before=cutoff,
                limit=batch,
                load_input=False,
                load_output=False,
            )
            if not found:
                return pruned
            await client.delete_workflows_async([status.workflow_id for status in found])
            pruned += len(found)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        engine, self._engine = self._engine, None
        if client is not None:
            await asyncio.to_thread(client.destroy)
        if engine is not None:
            await asyncio.to_thread(engine.dispose)


_active: dict[str, JobQueue] = {}


def use_queue(queue: JobQueue) -> None:
    """Make `queue` the one `Task.enqueue` uses (as `bind_tables` points the tables at an
    engine: one process serves one site's database at a time)."""
    _active["queue"] = queue


def active_queue() -> JobQueue:
    queue = _active.get("queue")
    if queue is None:
        from bandstand.settings import get_settings

        queue = _active["queue"] = JobQueue(get_settings())
    return queue
