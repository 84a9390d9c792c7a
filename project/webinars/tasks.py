"""A registrant's new photo, re-encoded by a job: the upload answers at once, and the page shows
the photo when the job has stored it."""

from __future__ import annotations

from bandstand.jobs import current_job_id, task, worker
from bandstand.storage.base import FileMissing
from bandstand.storage.images import UploadRejected, clean_image
from project.webinars.queries import finish_photo_job

UPLOAD_FOLDER = "uploads"


@task(name="webinars.process_photo", retries=3, backoff_seconds=2, timeout_seconds=120)
async def process_photo(registrant_id: int, upload: str, max_bytes: int) -> str:
    """Re-encode the upload kept at `upload` into the registrant's photo, then drop the upload.
    Returns "" when done, or why the image was refused, for the page to show: a refusal is an
    answer, not a failure to retry."""
    storage = worker.current().site.storage
    try:
        data = (await storage.load(upload)).data
    except FileMissing:  # an earlier run finished, and stopped before it could say so
        return ""
    job_id = current_job_id()
    try:
        image = await clean_image(data, max_bytes)
    except UploadRejected as refusal:
        await finish_photo_job(storage, registrant_id, None, job_id=job_id, upload=upload)
        return str(refusal.detail)
    await finish_photo_job(storage, registrant_id, image, job_id=job_id, upload=upload)
    return ""
