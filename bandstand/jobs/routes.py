"""`/jobs`: the staff page of background jobs (queued, running, failed, done), each with its
live progress, cancel and run-again; and the demo data and backups started from it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Literal
from uuid import UUID

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage
from litestar.types import ControllerRouterHandler

from bandstand.accounts.guards import requires_staff, requires_superuser
from bandstand.audit.log import record_request
from bandstand.demo import DEMO_ACTIONS
from bandstand.jobs.errors import JobsError
from bandstand.jobs.queue import JobQueue, JobState, JobStatus
from bandstand.jobs.staff_tasks import BACKUP_NAME, demo_data, take_backup
from bandstand.pagination import within_pages
from bandstand.settings import Settings

PAGE_SIZE = 50
STATUSES: tuple[JobStatus, ...] = ("queued", "scheduled", "running", "failed", "done", "cancelled")
POLL_SECONDS = 0.5
# A progress stream ends after this; the browser's EventSource opens the next one.
STREAM_SECONDS = 300

Jobs = NamedDependency[JobQueue]


@get("/jobs", guards=[requires_staff], include_in_schema=False)
async def job_list(
    jobs: Jobs,
    status: FromQuery[
        Literal["queued", "scheduled", "running", "failed", "done", "cancelled", ""]
    ] = "",
    page: FromQuery[int] = 1,
) -> Template:
    number = within_pages(page)
    found = await jobs.states(
        status=status or None, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE
    )
    context = {
        "jobs": found[:PAGE_SIZE],
        "status": status,
        "statuses": STATUSES,
        "page": number,
        "has_next": len(found) > PAGE_SIZE,
        "demo_actions": DEMO_ACTIONS,
    }
    return Template("jobs/list.html", context=context)


async def _found(jobs: JobQueue, job_id: UUID) -> JobState:
    state = await jobs.state(str(job_id))
    if state is None:
        raise NotFoundException("No such job.")
    return state


@get("/jobs/{job_id:uuid}", guards=[requires_staff], include_in_schema=False)
async def job_detail(job_id: FromPath[UUID], jobs: Jobs) -> Template:
    state = await _found(jobs, job_id)
    result = await jobs.result(state.id) if state.status == "done" else None
    context = {"job": state, "progress": await jobs.progress(state.id), "result": result}
    return Template("jobs/detail.html", context=context)


def _snapshot(state: JobState, progress: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "status": state.status,
        "finished": state.finished,
        "error": state.error,
        "progress": progress,
    }


@get(
    "/jobs/{job_id:uuid}/events",
    guards=[requires_staff],
    include_in_schema=False,
    exclude_from_csrf=True,
)
async def job_events(job_id: FromPath[UUID], jobs: Jobs) -> ServerSentEvent:
    """`state` events, each when the job's status or progress changes, until it ends."""
    await _found(jobs, job_id)

    async def changes() -> AsyncIterator[ServerSentEventMessage]:
        last: dict[str, Any] | None = None
        loop = asyncio.get_running_loop()
        until = loop.time() + STREAM_SECONDS
        while loop.time() < until:
            state = await _found(jobs, job_id)
            snapshot = _snapshot(state, await jobs.progress(state.id))
            if snapshot != last:
                yield ServerSentEventMessage(data=json.dumps(snapshot), event="state")
                last = snapshot
            if state.finished:
                return
            await asyncio.sleep(POLL_SECONDS)

    return ServerSentEvent(changes(), headers={"cache-control": "no-store"})


@post("/jobs/{job_id:uuid}/cancel", guards=[requires_staff], include_in_schema=False)
async def cancel_job(
    request: Request[Any, Any, Any], job_id: FromPath[UUID], jobs: Jobs
) -> Redirect:
    state = await _found(jobs, job_id)
    if state.finished:
        flash(request, f"The job had already ended ({state.status}).", "info")
    else:
        await jobs.cancel(state.id)
        await record_request(request, "job.cancel", target=("job", state.id))
        flash(request, "Job cancelled.", "success")
    return Redirect(f"/jobs/{state.id}", status_code=303)


@post("/jobs/{job_id:uuid}/retry", guards=[requires_staff], include_in_schema=False)
async def retry_job(
    request: Request[Any, Any, Any], job_id: FromPath[UUID], jobs: Jobs
) -> Redirect:
    state = await _found(jobs, job_id)
    try:
        again = await jobs.retry(state.id)
    except JobsError as error:
        flash(request, str(error), "error")
        return Redirect(f"/jobs/{state.id}", status_code=303)
    await record_request(
        request, "job.retry", target=("job", state.id), changes={"job": [state.id, again.id]}
    )
    flash(request, "Queued again as a new job.", "success")
    return Redirect(f"/jobs/{again.id}", status_code=303)


@post("/jobs/demo/{action:str}", guards=[requires_staff], include_in_schema=False)
async def start_demo(request: Request[Any, Any, Any], action: FromPath[str]) -> Redirect:
    if action not in DEMO_ACTIONS:
        raise NotFoundException(f"No demo action {action!r}.")
    job = await demo_data.using(unique="bandstand.demo_data").enqueue(action)
    await record_request(request, f"demo.{action}", target=("job", job.id))
    return Redirect(f"/jobs/{job.id}", status_code=303)


# A backup holds every table, password hashes included: more than staff may see.
@post("/jobs/backup", guards=[requires_superuser], include_in_schema=False)
async def start_backup(request: Request[Any, Any, Any]) -> Redirect:
    job = await take_backup.using(unique="bandstand.backup").enqueue()
    await record_request(request, "backup.start", target=("job", job.id))
    return Redirect(f"/jobs/{job.id}", status_code=303)


@get("/jobs/backups/{name:str}", guards=[requires_superuser], include_in_schema=False)
async def download_backup(
    request: Request[Any, Any, Any], name: FromPath[str], settings: NamedDependency[Settings]
) -> File:
    # Only names the backup job makes: nothing else in (or outside) the folder is served.
    if not BACKUP_NAME.fullmatch(name):
        raise NotFoundException("No such backup.")
    path = settings.path(settings.backup_root) / name
    if not await asyncio.to_thread(path.is_file):
        raise NotFoundException("No such backup.")
    # Every table, password hashes included, leaves the site: who took it is kept.
    await record_request(request, "backup.download", target=("backup", name))
    return File(path, filename=name, media_type="application/gzip")


ROUTES: list[ControllerRouterHandler] = [
    job_list,
    job_detail,
    job_events,
    cancel_job,
    retry_job,
    start_demo,
    start_backup,
    download_backup,
]
