"""Staff create, edit and delete products from the site; everyone else is turned away."""

from decimal import Decimal

import httpx
import pytest

from bandstand.testing.accounts import People, csrf_token, log_in
from project.catalog.tables import Product
from tests.catalog.conftest import Catalog


async def post_form(client: httpx.AsyncClient, url: str, **fields: str) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post(url, data={**fields, "_csrf_token": token})


def valid(catalog: Catalog, **changes: str) -> dict[str, str]:
    fields = {
        "name": "Chisel",
        "description": "Sharp",
        "price": "14.20",
        "stock": "7",
        "category_id": str(catalog.categories["tools"]),
    }
    return {**fields, **changes}


async def test_staff_create_a_product_and_see_it(
    client: httpx.AsyncClient, catalog: Catalog, people: People
) -> None:
    await log_in(client, "staff")

    response = await post_form(client, "/products/new", **valid(catalog))

    assert response.status_code == 303
    product = await Product.objects().get(Product.name == "Chisel")
    assert product is not None
    assert (product.price, product.stock) == (Decimal("14.20"), 7)
    assert response.headers["location"] == f"/products/{product.id}"
    page = await client.get(response.headers["location"])
    assert "Added Chisel." in page.text  # the flash message, shown once
    assert "Added Chisel." not in (await client.get("/products")).text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "   "}, "name", "This field is required."),
        ({"name": "x" * 201}, "name", "Use at most 200 characters."),
        ({"price": "cheap"}, "price", "Enter a number, like 12.50."),
        ({"price": "-1"}, "price", "Enter a price from 0 to 99,999,999.99."),
        ({"price": "1.999"}, "price", "Use at most two decimal places."),
        ({"price": "NaN"}, "price", "Enter a price from 0 to 99,999,999.99."),
        ({"stock": "-3"}, "stock", "Enter a whole number from 0 to 1000000."),
        ({"category_id": ""}, "category_id", "This field is required."),
        ({"category_id": "999999"}, "category_id", "Choose one of the categories."),
    ],
)
async def test_invalid_fields_are_explained_and_nothing_is_saved(
    client: httpx.AsyncClient,
    catalog: Catalog,
    people: People,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    await log_in(client, "staff")

    response = await post_form(client, "/products/new", **valid(catalog, **changes))

    assert response.status_code == 400
    assert f'<small id="{field}-error" class="error">{message}</small>' in response.text
    assert f'aria-describedby="{field}-error"' in response.text
    assert await Product.count() == 5
    # What was typed stays in the form.
    assert 'value="Sharp"' in response.text or ">Sharp</textarea>" in response.text


async def test_every_mistake_is_reported_at_once(
    client: httpx.AsyncClient, catalog: Catalog, people: People
) -> None:
    await log_in(client, "staff")

    response = await post_form(
        client, "/products/new", **valid(catalog, name="", price="x", stock="many")
    )

    assert response.status_code == 400
    for field in ("name", "price", "stock"):
        assert f'id="{field}-error"' in response.text


async def test_staff_edit_and_delete(
    client: httpx.AsyncClient, catalog: Catalog, people: People
) -> None:
    await log_in(client, "staff")
    saw = catalog.products["Saw"]

    form = await client.get(f"/products/{saw}/edit")
    assert 'value="40.00"' in form.text
    response = await post_form(
        client, f"/products/{saw}/edit", **valid(catalog, name="Bow saw", price="44.00")
    )
    assert response.status_code == 303
    assert (await Product.select(Product.name).where(Product.id == saw).first()) == {
        "name": "Bow saw"
    }

    response = await post_form(client, f"/products/{saw}/delete")
    assert response.status_code == 303
    assert not await Product.exists().where(Product.id == saw)
    assert "Deleted Bow saw." in (await client.get("/products")).text
    assert (await post_form(client, f"/products/{saw}/delete")).status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "plain"])
async def test_only_staff_may_change_products(
    client: httpx.AsyncClient, catalog: Catalog, people: People, who: str
) -> None:
    if who != "anonymous":
        await log_in(client, who)
    saw = catalog.products["Saw"]

    attempts = [
        await post_form(client, "/products/new", **valid(catalog)),
        await post_form(client, f"/products/{saw}/edit", **valid(catalog)),
        await post_form(client, f"/products/{saw}/delete"),
    ]

    assert {response.status_code for response in attempts} == {401 if who == "anonymous" else 403}
    assert await Product.count() == 5
    assert await Product.exists().where(Product.name == "Saw")


async def test_a_form_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, catalog: Catalog, people: People
) -> None:
    await log_in(client, "staff")

    response = await client.post("/products/new", data=valid(catalog))

    assert response.status_code == 403
    assert await Product.count() == 5
