"""Webinar registration for anyone; the registrant list and their photos for staff."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from litestar.types import ControllerRouterHandler

from bandstand.accounts.guards import requires_staff
from bandstand.audit.log import record_change
from bandstand.forms import FieldError, validate_form
from bandstand.ids import RowId
from bandstand.jobs import JobQueue
from bandstand.pagination import within_pages
from bandstand.settings import Settings
from bandstand.storage.base import Storage, new_key
from bandstand.storage.images import ACCEPTED, CleanImage, UploadRejected, check_image
from project.webinars import api, queries
from project.webinars.schemas import RegistrationIn
from project.webinars.tables import Registrant
from project.webinars.tasks import UPLOAD_FOLDER, process_photo

PAGE_SIZE = 20


class PhotoUpload(msgspec.Struct):
    photo: UploadFile


def _registration_page(
    values: dict[str, Any], errors: dict[str, str], status_code: int = 200
) -> Template:
    today = datetime.datetime.now(datetime.UTC).date()
    context = {"values": values, "errors": errors, "today": today.isoformat()}
    return Template("webinars/register.html", context=context, status_code=status_code)


@get("/webinars", include_in_schema=False)
async def registration_form() -> Template:
    return _registration_page({}, {})


@post("/webinars", include_in_schema=False)
async def register(request: Request[Any, Any, Any]) -> Template | Redirect:
    form = dict(await request.form())
    result = validate_form(RegistrationIn, form)
    if result.value is None:
        return _registration_page(form, result.errors, HTTP_400_BAD_REQUEST)
    try:
        await queries.register(result.value)
    except FieldError as error:
        return _registration_page(form, {error.field: error.message}, HTTP_400_BAD_REQUEST)
    date = result.value.webinar_date.strftime("%A %-d %B %Y")
    flash(request, f"Thank you, {result.value.name}: you are registered for {date}.", "success")
    return Redirect("/webinars", status_code=303)


@get("/webinars/registrants", guards=[requires_staff], include_in_schema=False)
async def registrant_list(
    request: HTMXRequest, q: FromQuery[str] = "", page: FromQuery[int] = 1
) -> Template:
    registrants, found = await queries.find_registrants(q, within_pages(page), PAGE_SIZE)
    context = {"registrants": registrants, "page": found, "q": q}
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    name = "webinars/_registrant_rows.html" if partial else "webinars/registrants.html"
    return Template(name, context=context, headers={"vary": "HX-Request"})


@get("/webinars/registrants/{registrant_id:int}", guards=[requires_staff], include_in_schema=False)
async def registrant_detail(
    registrant_id: FromPath[RowId], jobs: NamedDependency[JobQueue]
) -> Template:
    registrant = await _found(registrant_id)
    return _detail(registrant, photo_job=await _photo_job(jobs, registrant))


@get(
    "/webinars/registrants/{registrant_id:int}/photo",
    guards=[requires_staff],
    include_in_schema=False,
)
async def photo_part(registrant_id: FromPath[RowId], jobs: NamedDependency[JobQueue]) -> Template:
    """The photo part of the page, which htmx asks for again while a new photo is made."""
    registrant = await _found(registrant_id)
    context = {"registrant": registrant, "photo_job": await _photo_job(jobs, registrant)}
    return Template("webinars/_photo.html", context=context)


class PhotoJob(msgspec.Struct, frozen=True):
    """What the page says of the job making a new photo."""

    pending: bool
    refusal: str = ""


async def _photo_job(jobs: JobQueue, registrant: dict[str, Any]) -> PhotoJob | None:
    job_id = registrant["photo_job"]
    if job_id is None:
        return None
    state = await jobs.state(job_id)
    if state is None or not state.finished:
        return PhotoJob(pending=True)
    if state.status == "done":
        refusal = await jobs.result(job_id)
        return PhotoJob(pending=False, refusal=refusal) if refusal else None
    return PhotoJob(pending=False, refusal=f"The photo could not be processed ({state.status}).")


@post(
    "/webinars/registrants/{registrant_id:int}/photo",
    guards=[requires_staff],
    include_in_schema=False,
)
async def upload_photo(
    request: Request[Any, Any, Any],
    registrant_id: FromPath[RowId],
    data: Annotated[PhotoUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    storage: NamedDependency[Storage],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    registrant = await _found(registrant_id)
    try:
        # One byte past the limit is enough to know it is too big.
        content = await data.photo.read(settings.upload_max_bytes + 1)
        await check_image(content, settings.upload_max_bytes)
    except UploadRejected as error:
        return _detail(registrant, error=error.detail, status_code=error.status_code)
    finally:
        await data.photo.close()
    # The upload as sent, kept until the job has re-encoded it: staff only see it meanwhile.
    upload = new_key(UPLOAD_FOLDER, "bin")
    await storage.save(upload, content, "application/octet-stream")
    job_id = str(uuid.uuid4())
    try:
        await queries.start_photo_job(registrant_id, job_id)
    except LookupError:  # deleted by someone else meanwhile
        await storage.delete(upload)
        raise NotFoundException("No such registrant.") from None
    await process_photo.using(job_id=job_id).enqueue(
        registrant_id, upload, settings.upload_max_bytes
    )
    after = await queries.get_registrant(registrant_id)
    await record_change(request, "update", Registrant, registrant_id, registrant, after)
    flash(request, "Photo uploaded: it shows here once it is processed.", "success")
    return Redirect(f"/webinars/registrants/{registrant_id}", status_code=303)


@post(
    "/webinars/registrants/{registrant_id:int}/photo/delete",
    guards=[requires_staff],
    include_in_schema=False,
)
async def delete_photo(
    request: Request[Any, Any, Any],
    registrant_id: FromPath[RowId],
    storage: NamedDependency[Storage],
) -> Redirect:
    return await _photo_changed(request, storage, registrant_id, None)


async def _photo_changed(
    request: Request[Any, Any, Any], storage: Storage, registrant_id: int, image: CleanImage | None
) -> Redirect:
    before = await _found(registrant_id)
    try:
        await queries.set_photo(storage, registrant_id, image)
    except LookupError:  # deleted by someone else meanwhile
        raise NotFoundException("No such registrant.") from None
    after = await queries.get_registrant(registrant_id)
    await record_change(request, "update", Registrant, registrant_id, before, after)
    flash(request, "Photo saved." if image else "Photo removed.", "success")
    return Redirect(f"/webinars/registrants/{registrant_id}", status_code=303)


async def _found(registrant_id: int) -> dict[str, Any]:
    registrant = await queries.get_registrant(registrant_id)
    if registrant is None:
        raise NotFoundException("No such registrant.")
    return registrant


def _detail(
    registrant: dict[str, Any],
    error: str = "",
    status_code: int = 200,
    photo_job: PhotoJob | None = None,
) -> Template:
    context = {
        "registrant": registrant,
        "error": error,
        "accepted": ACCEPTED,
        "photo_job": photo_job,
    }
    return Template("webinars/registrant.html", context=context, status_code=status_code)


ROUTES: list[ControllerRouterHandler] = [
    *api.ROUTES,
    registration_form,
    register,
    registrant_list,
    registrant_detail,
    photo_part,
    upload_photo,
    delete_photo,
]
