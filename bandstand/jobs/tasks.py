"""Tasks: `@task` registers an async function as a job the queue can run, by name.

A task runs at least once: a worker that dies mid-job has the job run again, from the start, so
a task is written to be safe to run twice (an upsert, a check of what is already done).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from croniter import croniter

from bandstand.jobs import worker
from bandstand.jobs.errors import JobFailed, JobsError, PermanentFailure

if TYPE_CHECKING:
    from bandstand.jobs.queue import Job

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_QUEUE = "default"
PROGRESS_EVENT = "progress"

TASKS: dict[str, Task[Any, Any]] = {}
"""Every task defined in this process, by name: what a worker runs and which queues it takes."""


class Task(Generic[P, R]):
    """An async function that can run as a job. Call it to run it here and now; `enqueue` it to
    have a worker run it."""

    def __init__(
        self,
        function: Callable[P, Awaitable[R]],
        *,
        name: str,
        queue: str,
        retries: int,
        backoff_seconds: float,
        timeout_seconds: float | None,
        cron: str | None = None,
    ) -> None:
        if name in TASKS:
            raise JobsError(f"a task named {name!r} is already defined: give one of them name=")
        bad_timeout = timeout_seconds is not None and timeout_seconds <= 0
        if retries < 0 or backoff_seconds < 0 or bad_timeout:
            raise JobsError(f"task {name!r}: retries and backoff must be >= 0, a timeout > 0")
        self.function = function
        self.name = name
        self.queue = queue
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.timeout_seconds = timeout_seconds
        if cron is not None and not croniter.is_valid(cron, second_at_beginning=True):
            raise JobsError(f"task {name!r}: {cron!r} is not a cron schedule")
        self.cron = cron
        functools.update_wrapper(self, function)

        self._workflow: Callable[..., Awaitable[R]] | None = None
        TASKS[name] = self

    def __repr__(self) -> str:
        return f"<Task {self.name}>"

    @property
    def workflow(self) -> Callable[..., Awaitable[R]]:
        """The task as the DBOS workflow `register` made."""
        return self.register()

    def register(self) -> Callable[..., Awaitable[R]]:
        """Register the task with DBOS, as a workflow of its name (DBOS reads its registry when
        a worker launches). Done by the worker, not at import: importing DBOS (SQLAlchemy and
        all) is most of a second that a web process which runs no jobs never spends."""
        if self._workflow is None:
            from dbos import DBOS

            async def run_as_job(*args: Any, **kwargs: Any) -> R:
                if self.cron is not None:  # DBOS's scheduler passes (scheduled time, context)
                    args = args[:1]
                return await self._run_as_job(*args, **kwargs)

            self._workflow = DBOS.workflow(name=self.name)(run_as_job)
        return self._workflow

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self.function(*args, **kwargs)

    async def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> Job:
        """Queue a run now; `using(...)` queues one for later, or once only."""
        return await self.using().enqueue(*args, **kwargs)

    def using(
        self,
        *,
        run_after: datetime | timedelta | float | None = None,
        unique: str | None = None,
        job_id: str | None = None,
    ) -> Enqueuer[P, R]:
        """Shape the next job, as Django's tasks do: `run_after` a time (aware) or a delay (a
        timedelta, or seconds), and
        `unique`, a key: while a job with the key is queued or running, enqueueing again
        returns that job instead of a second. `job_id` gives the job its id (a UUID), for code
        that must record it before the job can run."""
        return Enqueuer(self, delay=_delay(run_after), unique=unique, job_id=job_id)

    async def _run_as_job(self, *args: Any, **kwargs: Any) -> R:
        """The DBOS workflow: runs on DBOS's event loop; each attempt runs on the worker's, where
        the site's database pool lives."""
        from dbos import DBOS

        attempt = 0
        while True:
            attempt += 1
            try:
                return await worker.current().run(self._attempt(args, kwargs))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a job's failure is kept, and retried
                if attempt > self.retries or isinstance(error, PermanentFailure):
                    raise JobFailed(f"{type(error).__name__}: {error}") from None
                # DBOS's sleep is durable: a worker that dies here resumes the wait.
                await DBOS.sleep_async(self.backoff_seconds * 2 ** (attempt - 1))

    async def _attempt(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
        if self.timeout_seconds is None:
            return await self.function(*args, **kwargs)
        async with asyncio.timeout(self.timeout_seconds):
            return await self.function(*args, **kwargs)


def task(
    *,
    name: str | None = None,
    queue: str = DEFAULT_QUEUE,
    retries: int = 0,
    backoff_seconds: float = 1.0,
    timeout_seconds: float | None = None,
    cron: str | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], Task[P, R]]:
    """Make an async function a task. A failed attempt (an exception other than
    PermanentFailure, or running past `timeout_seconds`) is tried again up to `retries` times,
    waiting `backoff_seconds`, then twice that, and so on. `name` defaults to the function's
    dotted path: renaming it strands the jobs queued under the old name.

    With `cron` (five fields, or six with seconds first; UTC), the workers also run it on that
    schedule, once per time however many workers there are; the function then takes one
    argument, the time the run was scheduled for."""

    def decorate(function: Callable[P, Awaitable[R]]) -> Task[P, R]:
        if not asyncio.iscoroutinefunction(function):
            raise JobsError(f"{function.__qualname__} is not async: a task is an async function")
        return Task(
            function,
            name=name or f"{function.__module__}.{function.__qualname__}",
            queue=queue,
            retries=retries,
            backoff_seconds=backoff_seconds,
            timeout_seconds=timeout_seconds,
            cron=cron,
        )

    return decorate


def current_job_id() -> str:
    """The id of the job this code runs in."""
    from dbos import DBOS

    job_id = DBOS.workflow_id
    if job_id is None:
        raise JobsError("current_job_id() is for a running job; this code is not one")
    return job_id


async def report_progress(done: float, total: float | None = None, message: str = "") -> None:
    """From inside a running job: how far it is, for the page that started it."""
    from dbos import DBOS

    if DBOS.workflow_id is None:
        raise JobsError("report_progress() is for a running job; this code is not one")
    await DBOS.set_event_async(PROGRESS_EVENT, {"done": done, "total": total, "message": message})


class Enqueuer(Generic[P, R]):
    def __init__(
        self, task: Task[P, R], *, delay: float | None, unique: str | None, job_id: str | None
    ) -> None:
        self.task = task
        self.delay = delay
        self.unique = unique
        self.job_id = job_id

    async def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> Job:
        from bandstand.jobs.queue import active_queue

        return await active_queue().enqueue(
            self.task, args, kwargs, delay=self.delay, unique=self.unique, job_id=self.job_id
        )


def _delay(run_after: datetime | timedelta | float | None) -> float | None:
    if run_after is None:
        return None
    if isinstance(run_after, int | float):
        run_after = timedelta(seconds=run_after)
    if isinstance(run_after, datetime):
        if run_after.tzinfo is None:
            raise JobsError("run_after needs an aware datetime (with tzinfo), such as UTC's")
        run_after = run_after - datetime.now(run_after.tzinfo)
    return max(run_after.total_seconds(), 0.0)
