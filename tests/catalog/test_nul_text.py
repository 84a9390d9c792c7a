"""Text with NUL, which PostgreSQL cannot store or compare (SQLite can): refused with a message
when written, finding nothing when searched, the same on both engines, never a 500."""

import httpx
import pytest

from bandstand.testing.accounts import People, csrf_token, log_in_for_api
from project.catalog.tables import Product
from tests.catalog.conftest import Catalog


@pytest.mark.parametrize("params", [{"q": "Ham\0mer"}, {"q": "\0"}, {"category": "to\0ols"}])
async def test_a_search_with_nul_finds_nothing(
    client: httpx.AsyncClient, catalog: Catalog, params: dict[str, str]
) -> None:
    api = await client.get("/api/products", params=params)
    assert api.status_code == 200
    assert (api.json()["total"], api.json()["items"]) == (0, [])
    page = await client.get("/products", params=params)
    assert page.status_code == 200
    assert "0 products" in page.text


@pytest.mark.parametrize("field", ["name", "description"])
async def test_a_product_with_nul_is_refused_by_the_api_and_the_form(
    client: httpx.AsyncClient, catalog: Catalog, people: People, field: str
) -> None:
    await log_in_for_api(client, "staff")
    body = {"name": "Plane", "description": "", "price": "2.00"}
    body[field] = "Pla\0ne"
    count = await Product.count()

    api = await client.post(
        "/api/products", json={**body, "category_id": catalog.categories["tools"]}
    )
    form = await client.post(
        "/products/new",
        data={
            **body,
            "category_id": str(catalog.categories["tools"]),
            "_csrf_token": await csrf_token(client, "/products/new"),
        },
    )

    assert api.status_code == 400
    assert "NUL" in api.json()["detail"]
    assert form.status_code == 400
    assert f'id="{field}-error"' in form.text
    assert await Product.count() == count
