"""`/api/webinars/registrants`: registration as JSON for anyone, the list for staff."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, ValidationException
from litestar.params import Body, FromQuery, Parameter
from litestar.status_codes import HTTP_409_CONFLICT

from bandstand.accounts.guards import requires_staff
from bandstand.accounts.schemas import CSRF_REQUIRED, STAFF_REQUIRED, refusal
from bandstand.forms import FieldError
from bandstand.ids import PageNumber
from project.webinars import queries
from project.webinars.schemas import RegistrantOut, RegistrantPage, RegistrationIn

PageSize = Annotated[int, Parameter(ge=1, le=100, description="Registrants per page.")]
# RegistrationIn refuses fields it doesn't know (forbid_unknown_fields); the schema says so.
RegistrationBody = Annotated[
    RegistrationIn,
    Body(media_type=RequestEncodingType.JSON, schema_extra={"additionalProperties": False}),
]
ALREADY_REGISTERED = refusal("This e-mail address is already registered.")


def _registrant(row: Mapping[str, Any]) -> RegistrantOut:
    return RegistrantOut(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        company=row["company"],
        webinar_date=row["webinar_date"],
        notes=row["notes"],
        has_photo=row["photo"] is not None,
        registered_at=row["registered_at"],
    )


class RegistrantController(Controller):
    path = "/api/webinars/registrants"
    tags = ("webinars",)

    @post(
        summary="Register for a webinar",
        responses={**CSRF_REQUIRED, HTTP_409_CONFLICT: ALREADY_REGISTERED},
        # Anyone may register, signed in or not: no session lookup.
        exclude_from_auth=True,
    )
    async def register(self, data: RegistrationBody) -> RegistrantOut:
        try:
            return _registrant(await queries.register(data))
        except queries.EmailTaken:
            raise ClientException(queries.TAKEN, status_code=HTTP_409_CONFLICT) from None
        except FieldError as error:  # a value the database could not store
            raise ValidationException(str(error)) from None

    @get(
        guards=[requires_staff],
        summary="List registrants (staff)",
        exclude_from_csrf=True,
        responses=STAFF_REQUIRED,
    )
    async def list_registrants(
        self,
        q: FromQuery[str] = "",
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = 20,
    ) -> RegistrantPage:
        rows, found = await queries.find_registrants(q, page, page_size)
        return RegistrantPage(
            items=[_registrant(row) for row in rows],
            page=found.number,
            page_size=found.size,
            total=found.total,
            pages=found.pages,
        )


ROUTES = [RegistrantController]
