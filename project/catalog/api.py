"""`/api/products`: the catalog as JSON. Anyone may read; staff may write (with the session
cookie and the CSRF token in the `x-site-csrf` header, as the site's own pages do)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import Body, FromPath, FromQuery, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from bandstand.accounts.guards import requires_staff
from bandstand.accounts.schemas import STAFF_REQUIRED, refusal
from bandstand.audit.log import record_change
from bandstand.forms import FieldError
from bandstand.ids import PageNumber, RowId
from project.catalog import queries
from project.catalog.schemas import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    ProductIn,
    ProductOut,
    ProductPage,
    Sort,
)
from project.catalog.tables import Product

AnyRequest = Request[Any, Any, Any]

PageSize = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
# ProductIn refuses fields it doesn't know (forbid_unknown_fields); the schema says so.
ProductBody = Annotated[
    ProductIn,
    Body(media_type=RequestEncodingType.JSON, schema_extra={"additionalProperties": False}),
]
NOT_FOUND = {404: refusal("No product has this id.")}


# The reads are public and show nothing of the visitor: they skip the session lookup
# (`exclude_from_auth`), as well as the CSRF cookie.
class ProductController(Controller):
    path = "/api/products"
    tags = ("products",)

    @get(
        summary="List products",
        description="Search, filter by category slug, sort, page.",
        exclude_from_csrf=True,
        exclude_from_auth=True,
    )
    async def list_products(
        self,
        q: FromQuery[str] = "",
        category: FromQuery[str] = "",
        sort: FromQuery[Sort] = "name",
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = PAGE_SIZE,
    ) -> ProductPage:
        products, found = await queries.find_products(q, category, sort, page, page_size)
        return ProductPage(
            items=products,
            page=found.number,
            page_size=found.size,
            total=found.total,
            pages=found.pages,
        )

    @get(
        "/{product_id:int}",
        summary="Get a product",
        exclude_from_csrf=True,
        exclude_from_auth=True,
        responses=NOT_FOUND,
    )
    async def get_product(self, product_id: FromPath[RowId]) -> ProductOut:
        product = await queries.get_product(product_id)
        if product is None:
            raise NotFoundException("No such product.")
        return product

    @post(guards=[requires_staff], summary="Create a product (staff)", responses=STAFF_REQUIRED)
    async def create_product(self, request: AnyRequest, data: ProductBody) -> ProductOut:
        product = await _saved(data, None)
        await record_change(request, "create", Product, product.id, after=product)
        return product

    @put(
        "/{product_id:int}",
        guards=[requires_staff],
        summary="Replace a product (staff)",
        responses={**STAFF_REQUIRED, **NOT_FOUND},
    )
    async def replace_product(
        self, request: AnyRequest, product_id: FromPath[RowId], data: ProductBody
    ) -> ProductOut:
        before = await queries.get_product(product_id)
        product = await _saved(data, product_id)
        await record_change(request, "update", Product, product_id, before, product)
        return product

    @delete(
        "/{product_id:int}",
        guards=[requires_staff],
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a product (staff)",
        responses={**STAFF_REQUIRED, **NOT_FOUND},
    )
    async def delete_product(self, request: AnyRequest, product_id: FromPath[RowId]) -> None:
        before = await queries.get_product(product_id)
        if not await queries.delete_product(product_id):
            raise NotFoundException("No such product.")
        await record_change(request, "delete", Product, product_id, before=before)


async def _saved(data: ProductIn, product_id: int | None) -> ProductOut:
    try:
        return await queries.save_product(data, product_id)
    except FieldError as error:
        raise ValidationException(str(error)) from None
    except LookupError:
        raise NotFoundException("No such product.") from None


ROUTES = [ProductController]
