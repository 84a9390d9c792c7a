"""The sample site's JSON API: albums for anyone to read and staff to write; joining a band's
fans for anyone, the fan list for staff. Writes need the session cookie and the CSRF token in
the `x-site-csrf` header, as the site's own pages send them."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException, ValidationException
from litestar.params import Body, FromPath, FromQuery, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT, HTTP_409_CONFLICT

from bandstand.accounts.guards import requires_staff
from bandstand.accounts.schemas import CSRF_REQUIRED, STAFF_REQUIRED, refusal
from bandstand.forms import FieldError
from bandstand.ids import PageNumber, RowId
from tests.support.sample import queries
from tests.support.sample.schemas import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    AlbumIn,
    AlbumOut,
    AlbumPage,
    AlbumSort,
    FanIn,
    FanOut,
    FanPage,
)

PageSize = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
# The input Structs refuse fields they don't know (forbid_unknown_fields); the schema says so.
AlbumBody = Annotated[
    AlbumIn,
    Body(media_type=RequestEncodingType.JSON, schema_extra={"additionalProperties": False}),
]
FanBody = Annotated[
    FanIn,
    Body(media_type=RequestEncodingType.JSON, schema_extra={"additionalProperties": False}),
]
NOT_FOUND = {404: refusal("No album has this id.")}


class AlbumController(Controller):
    path = "/api/albums"
    tags = ("albums",)

    # Public reads show nothing of the visitor: no session lookup, no CSRF cookie.
    @get(
        summary="List albums",
        description="Search, filter by band name, sort, page.",
        exclude_from_csrf=True,
        exclude_from_auth=True,
    )
    async def list_albums(
        self,
        q: FromQuery[str] = "",
        band: FromQuery[str] = "",
        sort: FromQuery[AlbumSort] = "title",
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = PAGE_SIZE,
    ) -> AlbumPage:
        albums, found = await queries.find_albums(q, band, sort, page, page_size)
        return AlbumPage(
            items=albums,
            page=found.number,
            page_size=found.size,
            total=found.total,
            pages=found.pages,
        )

    @get(
        "/{album_id:int}",
        summary="Get an album",
        exclude_from_csrf=True,
        exclude_from_auth=True,
        responses=NOT_FOUND,
    )
    async def get_album(self, album_id: FromPath[RowId]) -> AlbumOut:
        album = await queries.get_album(album_id)
        if album is None:
            raise NotFoundException("No such album.")
        return album

    @post(guards=[requires_staff], summary="Create an album (staff)", responses=STAFF_REQUIRED)
    async def create_album(self, data: AlbumBody) -> AlbumOut:
        return await _saved(data, None)

    @put(
        "/{album_id:int}",
        guards=[requires_staff],
        summary="Replace an album (staff)",
        responses={**STAFF_REQUIRED, **NOT_FOUND},
    )
    async def replace_album(self, album_id: FromPath[RowId], data: AlbumBody) -> AlbumOut:
        return await _saved(data, album_id)

    @delete(
        "/{album_id:int}",
        guards=[requires_staff],
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete an album (staff)",
        responses={**STAFF_REQUIRED, **NOT_FOUND},
    )
    async def delete_album(self, album_id: FromPath[RowId]) -> None:
        if not await queries.delete_album(album_id):
            raise NotFoundException("No such album.")


class FanController(Controller):
    path = "/api/fans"
    tags = ("fans",)

    @post(
        summary="Join a band's fans",
        responses={**CSRF_REQUIRED, HTTP_409_CONFLICT: refusal(queries.TAKEN)},
        # Anyone may join, signed in or not: no session lookup.
        exclude_from_auth=True,
    )
    async def join(self, data: FanBody) -> FanOut:
        try:
            return await queries.join(data)
        except queries.FanTaken:
            raise ClientException(queries.TAKEN, status_code=HTTP_409_CONFLICT) from None
        except FieldError as error:
            raise ValidationException(str(error)) from None

    @get(
        guards=[requires_staff],
        summary="List fans (staff)",
        exclude_from_csrf=True,
        responses=STAFF_REQUIRED,
    )
    async def list_fans(
        self,
        q: FromQuery[str] = "",
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = PAGE_SIZE,
    ) -> FanPage:
        fans, found = await queries.find_fans(q, page, page_size)
        return FanPage(
            items=fans,
            page=found.number,
            page_size=found.size,
            total=found.total,
            pages=found.pages,
        )


async def _saved(data: AlbumIn, album_id: int | None) -> AlbumOut:
    try:
        return await queries.save_album(data, album_id)
    except FieldError as error:
        raise ValidationException(str(error)) from None
    except LookupError:
        raise NotFoundException("No such album.") from None


ROUTES = [AlbumController, FanController]
