"""The sample site's pages: a home page, a searchable album list (htmx swaps the results), an
album's page, staff forms that create, edit and delete albums, a public form to join a band's
fans, and the fan list and pages (with a photo upload) for staff."""

from __future__ import annotations

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

from bandstand.accounts.guards import requires_group, requires_staff
from bandstand.forms import FieldError, validate_form
from bandstand.ids import RowId
from bandstand.pagination import within_pages
from bandstand.settings import Settings
from bandstand.storage.base import Storage
from bandstand.storage.images import ACCEPTED, CleanImage, UploadRejected, clean_image
from bandstand.testing.accounts import MEMBERS_GROUP
from tests.support.sample import queries
from tests.support.sample.schemas import PAGE_SIZE, AlbumIn, AlbumOut, AlbumSort, FanIn, FanOut

SORT_LABELS: dict[AlbumSort, str] = {
    "title": "Title, A to Z",
    "-title": "Title, Z to A",
    "price": "Price, low to high",
    "-price": "Price, high to low",
    "newest": "Newest first",
}


class PhotoUpload(msgspec.Struct):
    photo: UploadFile


@get("/", include_in_schema=False)
async def home() -> Template:
    albums, _ = await queries.find_albums(sort="newest", size=5)
    return Template("sample/home.html", context={"albums": albums})


@get("/backstage", guards=[requires_group(MEMBERS_GROUP)], include_in_schema=False)
async def backstage() -> Template:
    """A page for one group's members."""
    return Template("sample/backstage.html", context={"bands": await queries.bands()})


@get("/albums", include_in_schema=False)
async def album_list(
    request: HTMXRequest,
    q: FromQuery[str] = "",
    band: FromQuery[str] = "",
    sort: FromQuery[AlbumSort] = "title",
    page: FromQuery[int] = 1,
) -> Template:
    albums, found = await queries.find_albums(q, band, sort, within_pages(page), PAGE_SIZE)
    context: dict[str, Any] = {
        "albums": albums,
        "page": found,
        "filters": {"q": q, "band": band, "sort": sort},
    }
    # htmx asks for the results alone while a person types; a history restore needs it all.
    if request.htmx and not request.htmx.history_restore_request:
        return Template("sample/_albums.html", context=context, headers={"vary": "HX-Request"})
    context |= {"bands": await queries.bands(), "sort_labels": SORT_LABELS}
    return Template("sample/albums.html", context=context, headers={"vary": "HX-Request"})


@get("/albums/{album_id:int}", include_in_schema=False)
async def album_detail(album_id: FromPath[RowId]) -> Template:
    return Template("sample/album.html", context={"album": await _album(album_id)})


@get("/albums/new", guards=[requires_staff], include_in_schema=False)
async def new_album() -> Template:
    return await _album_form(None, {}, {})


@post("/albums/new", guards=[requires_staff], include_in_schema=False)
async def create_album(request: Request[Any, Any, Any]) -> Template | Redirect:
    return await _save_album(request, None)


@get("/albums/{album_id:int}/edit", guards=[requires_staff], include_in_schema=False)
async def edit_album(album_id: FromPath[RowId]) -> Template:
    album = await _album(album_id)
    values = {
        "title": album.title,
        "description": album.description,
        "price": str(album.price),
        "band_id": str(album.band.id),
    }
    return await _album_form(album, values, {})


@post("/albums/{album_id:int}/edit", guards=[requires_staff], include_in_schema=False)
async def update_album(
    request: Request[Any, Any, Any], album_id: FromPath[RowId]
) -> Template | Redirect:
    return await _save_album(request, await _album(album_id))


@post("/albums/{album_id:int}/delete", guards=[requires_staff], include_in_schema=False)
async def delete_album(request: Request[Any, Any, Any], album_id: FromPath[RowId]) -> Redirect:
    album = await _album(album_id)
    await queries.delete_album(album_id)
    flash(request, f"Deleted {album.title}.", "success")
    return Redirect("/albums", status_code=303)


@get("/join", include_in_schema=False)
async def join_form() -> Template:
    return await _join_page({}, {})


@post("/join", include_in_schema=False)
async def join(request: Request[Any, Any, Any]) -> Template | Redirect:
    form = dict(await request.form())
    result = validate_form(FanIn, form)
    if result.value is None:
        return await _join_page(form, result.errors)
    try:
        fan = await queries.join(result.value)
    except FieldError as error:
        return await _join_page(form, {error.field: error.message})
    flash(request, f"Thank you, {fan.name}: you are a fan of {fan.band.name}.", "success")
    return Redirect("/join", status_code=303)


@get("/fans", guards=[requires_staff], include_in_schema=False)
async def fan_list(
    request: HTMXRequest, q: FromQuery[str] = "", page: FromQuery[int] = 1
) -> Template:
    fans, found = await queries.find_fans(q, within_pages(page), PAGE_SIZE)
    context = {"fans": fans, "page": found, "q": q}
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    name = "sample/_fans.html" if partial else "sample/fans.html"
    return Template(name, context=context, headers={"vary": "HX-Request"})


@get("/fans/{fan_id:int}", guards=[requires_staff], include_in_schema=False)
async def fan_detail(fan_id: FromPath[RowId]) -> Template:
    return await _fan_page(await _fan(fan_id))


@post("/fans/{fan_id:int}/photo", guards=[requires_staff], include_in_schema=False)
async def upload_photo(
    request: Request[Any, Any, Any],
    fan_id: FromPath[RowId],
    data: Annotated[PhotoUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    storage: NamedDependency[Storage],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    fan = await _fan(fan_id)
    try:
        # One byte past the limit is enough to know it is too big.
        image = await clean_image(
            await data.photo.read(settings.upload_max_bytes + 1), settings.upload_max_bytes
        )
    except UploadRejected as error:
        return await _fan_page(fan, error=error.detail, status_code=error.status_code)
    finally:
        await data.photo.close()
    return await _photo_changed(request, storage, fan_id, image)


@post("/fans/{fan_id:int}/photo/delete", guards=[requires_staff], include_in_schema=False)
async def delete_photo(
    request: Request[Any, Any, Any], fan_id: FromPath[RowId], storage: NamedDependency[Storage]
) -> Redirect:
    return await _photo_changed(request, storage, fan_id, None)


async def _album(album_id: int) -> AlbumOut:
    album = await queries.get_album(album_id)
    if album is None:
        raise NotFoundException("No such album.")
    return album


async def _fan(fan_id: int) -> FanOut:
    fan = await queries.get_fan(fan_id)
    if fan is None:
        raise NotFoundException("No such fan.")
    return fan


async def _save_album(
    request: Request[Any, Any, Any], existing: AlbumOut | None
) -> Template | Redirect:
    form = dict(await request.form())
    result = validate_form(AlbumIn, form)
    if result.value is None:
        return await _album_form(existing, form, result.errors)
    try:
        album = await queries.save_album(result.value, existing.id if existing else None)
    except FieldError as error:
        return await _album_form(existing, form, {error.field: error.message})
    except LookupError:  # deleted by someone else since the form was opened
        raise NotFoundException("No such album.") from None
    flash(request, f"{'Saved' if existing else 'Added'} {album.title}.", "success")
    return Redirect(f"/albums/{album.id}", status_code=303)


async def _album_form(
    album: AlbumOut | None, values: dict[str, Any], errors: dict[str, str]
) -> Template:
    context = {"album": album, "values": values, "errors": errors, "bands": await queries.bands()}
    status = HTTP_400_BAD_REQUEST if errors else 200
    return Template("sample/album_form.html", context=context, status_code=status)


async def _join_page(values: dict[str, Any], errors: dict[str, str]) -> Template:
    context = {"values": values, "errors": errors, "bands": await queries.bands()}
    status = HTTP_400_BAD_REQUEST if errors else 200
    return Template("sample/join.html", context=context, status_code=status)


async def _fan_page(fan: FanOut, error: str = "", status_code: int = 200) -> Template:
    photo = await queries.photo_of(fan.id) if fan.has_photo else None
    context = {"fan": fan, "photo": photo, "error": error, "accepted": ACCEPTED}
    return Template("sample/fan.html", context=context, status_code=status_code)


async def _photo_changed(
    request: Request[Any, Any, Any], storage: Storage, fan_id: int, image: CleanImage | None
) -> Redirect:
    try:
        await queries.set_photo(storage, fan_id, image)
    except LookupError:  # deleted by someone else meanwhile
        raise NotFoundException("No such fan.") from None
    flash(request, "Photo saved." if image else "Photo removed.", "success")
    return Redirect(f"/fans/{fan_id}", status_code=303)


ROUTES: list[ControllerRouterHandler] = [
    home,
    backstage,
    album_list,
    album_detail,
    new_album,
    create_album,
    edit_album,
    update_album,
    delete_album,
    join_form,
    join,
    fan_list,
    fan_detail,
    upload_photo,
    delete_photo,
]
