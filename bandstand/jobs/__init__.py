"""Background jobs: `@task` makes an async function a job, `await some_task.enqueue(...)` queues
it, and a worker (in the web process, or `piccolo project worker`) runs it. The queue engine is
DBOS (docs/jobs.md says why); this package is Bandstand's small API on it."""

from bandstand.jobs.errors import JobFailed, JobsError, PermanentFailure
from bandstand.jobs.queue import Job, JobQueue, JobState
from bandstand.jobs.tasks import Task, current_job_id, report_progress, task

__all__ = (
    "Job",
    "JobFailed",
    "JobQueue",
    "JobState",
    "JobsError",
    "PermanentFailure",
    "Task",
    "current_job_id",
    "report_progress",
    "task",
)
