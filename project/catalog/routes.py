"""The product pages: a searchable list (htmx swaps just the results), a detail page, and
create/edit/delete for staff with the same validation as the JSON API."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from litestar.types import ControllerRouterHandler

from bandstand.accounts.guards import requires_staff
from bandstand.audit.log import record_change
from bandstand.forms import FieldError, validate_form
from bandstand.ids import RowId
from bandstand.pagination import within_pages
from project.catalog import api, queries
from project.catalog.schemas import PAGE_SIZE, ProductIn, ProductOut, Sort
from project.catalog.tables import Product

SORT_LABELS: dict[Sort, str] = {
    "name": "Name, A to Z",
    "-name": "Name, Z to A",
    "price": "Price, low to high",
    "-price": "Price, high to low",
    "newest": "Newest first",
}


@get("/products", include_in_schema=False)
async def product_list(
    request: HTMXRequest,
    q: FromQuery[str] = "",
    category: FromQuery[str] = "",
    sort: FromQuery[Sort] = "name",
    page: FromQuery[int] = 1,
) -> Template:
    products, found = await queries.find_products(q, category, sort, within_pages(page), PAGE_SIZE)
    context: dict[str, Any] = {
        "products": products,
        "page": found,
        "filters": {"q": q, "category": category, "sort": sort},
    }
    # htmx asks for the results alone while a person types; a history restore needs it all.
    if request.htmx and not request.htmx.history_restore_request:
        return Template("catalog/_results.html", context=context, headers={"vary": "HX-Request"})
    context |= {"categories": await queries.categories(), "sort_labels": SORT_LABELS}
    return Template("catalog/list.html", context=context, headers={"vary": "HX-Request"})


@get("/products/{product_id:int}", include_in_schema=False)
async def product_detail(product_id: FromPath[RowId]) -> Template:
    return Template("catalog/detail.html", context={"product": await _found(product_id)})


@get("/products/new", guards=[requires_staff], include_in_schema=False)
async def new_product() -> Template:
    return await _form(None, {}, {})


@post("/products/new", guards=[requires_staff], include_in_schema=False)
async def create_product(request: Request[Any, Any, Any]) -> Template | Redirect:
    form = dict(await request.form())
    result = validate_form(ProductIn, form)
    if result.value is None:
        return await _form(None, form, result.errors)
    try:
        product = await queries.save_product(result.value)
    except FieldError as error:
        return await _form(None, form, {error.field: error.message})
    await record_change(request, "create", Product, product.id, after=product)
    flash(request, f"Added {product.name}.", "success")
    return Redirect(f"/products/{product.id}", status_code=303)


@get("/products/{product_id:int}/edit", guards=[requires_staff], include_in_schema=False)
async def edit_product(product_id: FromPath[RowId]) -> Template:
    product = await _found(product_id)
    values = {
        "name": product.name,
        "description": product.description,
        "price": str(product.price),
        "stock": str(product.stock),
        "category_id": str(product.category.id),
    }
    return await _form(product, values, {})


@post("/products/{product_id:int}/edit", guards=[requires_staff], include_in_schema=False)
async def update_product(
    request: Request[Any, Any, Any], product_id: FromPath[RowId]
) -> Template | Redirect:
    existing = await _found(product_id)
    form = dict(await request.form())
    result = validate_form(ProductIn, form)
    if result.value is None:
        return await _form(existing, form, result.errors)
    try:
        product = await queries.save_product(result.value, product_id)
    except FieldError as error:
        return await _form(existing, form, {error.field: error.message})
    except LookupError:  # deleted by someone else since the form was opened
        raise NotFoundException("No such product.") from None
    await record_change(request, "update", Product, product.id, existing, product)
    flash(request, f"Saved {product.name}.", "success")
    return Redirect(f"/products/{product.id}", status_code=303)


@post("/products/{product_id:int}/delete", guards=[requires_staff], include_in_schema=False)
async def delete_product(request: Request[Any, Any, Any], product_id: FromPath[RowId]) -> Redirect:
    product = await _found(product_id)
    if await queries.delete_product(product_id):
        await record_change(request, "delete", Product, product_id, before=product)
    flash(request, f"Deleted {product.name}.", "success")
    return Redirect("/products", status_code=303)


async def _found(product_id: int) -> ProductOut:
    product = await queries.get_product(product_id)
    if product is None:
        raise NotFoundException("No such product.")
    return product


async def _form(
    product: ProductOut | None, values: dict[str, Any], errors: dict[str, str]
) -> Template:
    context = {
        "product": product,
        "values": values,
        "errors": errors,
        "categories": await queries.categories(),
    }
    status = HTTP_400_BAD_REQUEST if errors else 200
    return Template("catalog/form.html", context=context, status_code=status)


ROUTES: list[ControllerRouterHandler] = [
    *api.ROUTES,
    product_list,
    product_detail,
    new_product,
    create_product,
    edit_product,
    update_product,
    delete_product,
]
