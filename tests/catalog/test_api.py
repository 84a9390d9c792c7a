"""/api/products: public reads with filters and pages, staff-only writes, clear 4xx errors."""

import httpx
import pytest

from bandstand.testing.accounts import People, csrf_token, log_in_for_api
from project.catalog.tables import Product
from tests.catalog.conftest import Catalog


async def test_list_filters_sorts_and_pages(client: httpx.AsyncClient, catalog: Catalog) -> None:
    response = await client.get(
        "/api/products", params={"category": "tools", "sort": "price", "page_size": 2}
    )

    assert response.status_code == 200
    body = response.json()
    assert [item["name"] for item in body["items"]] == ["Screwdriver set", "Hammer"]
    assert {k: body[k] for k in ("page", "page_size", "total", "pages")} == {
        "page": 1,
        "page_size": 2,
        "total": 3,
        "pages": 2,
    }
    assert body["items"][0]["price"] == "12.50"  # Decimal, exact, as a string
    assert body["items"][0]["category"] == {
        "id": catalog.categories["tools"],
        "slug": "tools",
        "name": "Tools",
    }
    second = (
        await client.get(
            "/api/products",
            params={"category": "tools", "sort": "price", "page_size": 2, "page": 2},
        )
    ).json()
    assert [item["name"] for item in second["items"]] == ["Saw"]
    search = (await client.get("/api/products", params={"q": "hammer"})).json()
    assert [item["name"] for item in search["items"]] == ["Hammer", "Python cookbook"]


@pytest.mark.parametrize(
    "params", [{"page": "0"}, {"page_size": "101"}, {"page_size": "x"}, {"sort": "id"}]
)
async def test_bad_list_parameters_are_400(
    client: httpx.AsyncClient, catalog: Catalog, params: dict[str, str]
) -> None:
    response = await client.get("/api/products", params=params)
    assert response.status_code == 400
    assert response.json()["detail"]


async def test_detail_and_404(client: httpx.AsyncClient, catalog: Catalog) -> None:
    hammer = await client.get(f"/api/products/{catalog.products['Hammer']}")
    assert hammer.status_code == 200
    assert hammer.json()["name"] == "Hammer"
    missing = await client.get("/api/products/999999")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "No such product."


async def test_staff_create_replace_and_delete(
    client: httpx.AsyncClient, catalog: Catalog, people: People
) -> None:
    await log_in_for_api(client, "staff")
    body = {"name": "Level", "price": "18.00", "category_id": catalog.categories["tools"]}

    created = await client.post("/api/products", json=body)
    assert created.status_code == 201, created.text
    product = created.json()
    assert (product["name"], product["price"], product["stock"]) == ("Level", "18.00", 0)

    replaced = await client.put(
        f"/api/products/{product['id']}",
        json={
            **body,
            "name": "Spirit level",
            "stock": 4,
            "category_id": catalog.categories["books"],
        },
    )
    assert replaced.status_code == 200
    assert (replaced.json()["name"], replaced.json()["category"]["slug"]) == (
        "Spirit level",
        "books",
    )

    deleted = await client.delete(f"/api/products/{product['id']}")
    assert deleted.status_code == 204
    assert not await Product.exists().where(Product.id == product["id"])
    assert (await client.delete(f"/api/products/{product['id']}")).status_code == 404
    assert (await client.put(f"/api/products/{product['id']}", json=body)).status_code == 404


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "", "price": "1", "category_id": 1}, "name"),
        ({"name": "X", "price": "-1", "category_id": 1}, "price"),
        ({"name": "X", "price": 1.5, "category_id": 999999}, "category_id"),
        ({"name": "X", "price": "1", "category_id": 1, "id": 5}, "id"),
        ({"price": "1", "category_id": 1}, "name"),
    ],
)
async def test_invalid_bodies_are_400_and_change_nothing(
    client: httpx.AsyncClient,
    catalog: Catalog,
    people: People,
    body: dict[str, object],
    detail: str,
) -> None:
    await log_in_for_api(client, "staff")
    if body.get("category_id") == 1:
        body["category_id"] = catalog.categories["tools"]

    response = await client.post("/api/products", json=body)

    assert response.status_code == 400, response.text
    assert detail in str(response.json())
    assert await Product.count() == 5


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("plain", 403)])
async def test_writes_need_staff(
    client: httpx.AsyncClient, catalog: Catalog, people: People, who: str, status: int
) -> None:
    if who == "anonymous":
        # With a valid CSRF token, so the refusal is the guard's, not the CSRF check's.
        client.headers["x-site-csrf"] = await csrf_token(client)
    else:
        await log_in_for_api(client, who)
    hammer = catalog.products["Hammer"]
    body = {"name": "Mallet", "price": "5", "category_id": catalog.categories["tools"]}

    assert (await client.post("/api/products", json=body)).status_code == status
    assert (await client.put(f"/api/products/{hammer}", json=body)).status_code == status
    assert (await client.delete(f"/api/products/{hammer}")).status_code == status
    assert await Product.count() == 5
    assert await Product.exists().where(Product.name == "Hammer")


async def test_the_api_is_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()

    assert set(schema["paths"]["/api/products"]) == {"get", "post"}
    assert set(schema["paths"]["/api/products/{product_id}"]) == {"get", "put", "delete"}
    assert "ProductIn" in str(schema["components"]["schemas"])


async def test_reads_hand_out_no_csrf_cookie_and_writes_still_need_the_token(
    client: httpx.AsyncClient, catalog: Catalog, people: People
) -> None:
    hammer = catalog.products["Hammer"]
    for path in ("/api/products", f"/api/products/{hammer}", "/healthz"):
        response = await client.get(path)
        assert response.status_code == 200
        assert "site_csrf" not in response.headers.get("set-cookie", "")
    # A page with a form still gets its token cookie.
    assert "site_csrf" in (await client.get("/products")).headers.get("set-cookie", "")

    await log_in_for_api(client, "staff")
    del client.headers["x-site-csrf"]
    body = {"name": "Mallet", "price": "5", "category_id": catalog.categories["tools"]}
    assert (await client.post("/api/products", json=body)).status_code == 403
    assert (await client.delete(f"/api/products/{hammer}")).status_code == 403
    assert await Product.count() == 5
