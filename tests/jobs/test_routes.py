"""The staff page at /jobs: who may see it, the list and a job's page, its progress as Server-
Sent Events, cancel and run-again, and the demo data and backup jobs started from it."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from bandstand.audit.tables import AuditEntry
from bandstand.jobs import JobQueue
from bandstand.jobs.queue import active_queue
from bandstand.testing.accounts import People, csrf_token, log_in
from bandstand.testing.apps import build_app, client_for
from bandstand.testing.sse import parse_sse
from tests.jobs.tasks import JobRun, create_tables, flaky, record

pytestmark = pytest.mark.usefixtures("people")


async def audited(action: str) -> list[tuple[str, str]]:
    """Who did `action` to what, as the audit log has it."""
    rows = await AuditEntry.select(AuditEntry.actor, AuditEntry.target_id).where(
        AuditEntry.action == action
    )
    return [(row["actor"], row["target_id"]) for row in rows]


@pytest.fixture
async def site(people: People) -> AsyncIterator[httpx.AsyncClient]:
    """The site, running its jobs itself, and a browser on it."""
    await create_tables()
    app = await build_app(jobs_in_process=True)
    async with client_for(app) as client:
        yield client


@pytest.fixture
def jobs(site: httpx.AsyncClient) -> JobQueue:
    return active_queue()


async def post(client: httpx.AsyncClient, url: str) -> httpx.Response:
    token = await csrf_token(client, "/jobs")
    return await client.post(url, data={"_csrf_token": token})


async def finished(jobs: JobQueue, job_id: str) -> None:
    with anyio.fail_after(30):
        await jobs.job(job_id).result()


@pytest.mark.parametrize(("who", "status"), [("plain", 403), ("staff", 200), ("boss", 200)])
async def test_only_staff_see_the_jobs(site: httpx.AsyncClient, who: str, status: int) -> None:
    anonymous = await site.get("/jobs")
    assert anonymous.status_code in {302, 303, 401}
    await log_in(site, who)
    assert (await site.get("/jobs")).status_code == status


async def test_a_job_is_listed_and_its_page_shows_the_result(
    site: httpx.AsyncClient, jobs: JobQueue
) -> None:
    job = await record.enqueue(41)
    await finished(jobs, job.id)
    await log_in(site, "staff")

    listed = await site.get("/jobs", params={"status": "done"})
    assert job.id[:8] in listed.text
    assert "tests.record" in listed.text
    assert job.id[:8] not in (await site.get("/jobs", params={"status": "failed"})).text
    assert (await site.get("/jobs", params={"status": "lost"})).status_code == 400

    page = await site.get(f"/jobs/{job.id}")
    assert page.status_code == 200
    assert "<code>41</code>" in page.text
    assert (await site.get("/jobs/00000000-0000-0000-0000-000000000000")).status_code == 404
    assert (await site.get("/jobs/not-a-job")).status_code == 404


async def test_progress_streams_until_the_job_ends(site: httpx.AsyncClient) -> None:
    await log_in(site, "staff")
    started = await post(site, "/jobs/demo/load")
    assert started.status_code == 303
    job_page = started.headers["location"]

    with anyio.fail_after(60):
        events = parse_sse((await site.get(f"{job_page}/events")).text)
    assert {kind for kind, _ in events} == {"state"}
    last = events[-1][1]
    assert last["finished"] is True
    assert last["status"] == "done"
    assert last["progress"]["message"] == "load: done"
    assert last["progress"]["done"] == last["progress"]["total"] > 0


async def test_a_scheduled_job_is_cancelled_from_its_page(
    site: httpx.AsyncClient, jobs: JobQueue
) -> None:
    job = await record.using(run_after=60).enqueue(42)
    await log_in(site, "staff")
    assert "Cancel" in (await site.get(f"/jobs/{job.id}")).text

    response = await post(site, f"/jobs/{job.id}/cancel")
    assert response.status_code == 303
    assert (await job.state()).status == "cancelled"
    again = await site.get(response.headers["location"])
    assert "Run again" in again.text
    assert await audited("job.cancel") == [("staff", job.id)]


async def test_a_failed_job_runs_again_as_a_new_job_with_its_arguments(
    site: httpx.AsyncClient, jobs: JobQueue
) -> None:
    job = await flaky.enqueue(43, failures=3)  # three attempts, all failing
    with pytest.raises(Exception, match="attempt 3 failed"):
        await finished(jobs, job.id)
    await log_in(site, "staff")

    response = await post(site, f"/jobs/{job.id}/retry")
    assert response.status_code == 303
    new_id = response.headers["location"].rsplit("/", 1)[1]
    assert new_id != job.id
    assert await audited("job.retry") == [("staff", job.id)]
    with anyio.fail_after(30):
        assert await jobs.job(new_id).result() == 4  # the fourth attempt of seq 43 succeeds
    assert await JobRun.count().where(JobRun.seq == 43) == 4
    # A job that did not fail is not run again.
    done = await post(site, f"/jobs/{new_id}/retry")
    assert "only a failed or cancelled job" in (await site.get(done.headers["location"])).text


async def test_writes_need_the_csrf_token(site: httpx.AsyncClient) -> None:
    await log_in(site, "staff")
    assert (await site.post("/jobs/demo/load")).status_code == 403
    assert (await post(site, "/jobs/demo/explode")).status_code == 404


async def test_a_backup_is_for_superusers_and_downloads_complete(
    site: httpx.AsyncClient, jobs: JobQueue
) -> None:
    await log_in(site, "staff")
    assert (await post(site, "/jobs/backup")).status_code == 403
    assert "Take a backup" not in (await site.get("/jobs")).text
    await site.post("/logout", data={"_csrf_token": await csrf_token(site, "/jobs")})

    await log_in(site, "boss")
    started = await post(site, "/jobs/backup")
    assert started.status_code == 303
    job_id = started.headers["location"].rsplit("/", 1)[1]
    with anyio.fail_after(60):
        name = await jobs.job(job_id).result()
    page = await site.get(f"/jobs/{job_id}")
    assert f'href="/jobs/backups/{name}"' in page.text

    download = await site.get(f"/jobs/backups/{name}")
    assert download.status_code == 200
    header = json.loads(gzip.decompress(download.content).split(b"\n", 1)[0])
    assert header["format"] == "bandstand-backup"
    assert await audited("backup.start") == [("boss", job_id)]
    assert await audited("backup.download") == [("boss", name)]
    for other in ("backup-20260101T000000Z.bandstand.gz", "..%2F.env", "test.sqlite3"):
        assert (await site.get(f"/jobs/backups/{other}")).status_code == 404
