"""Numbers past what the database holds are refused (400), not a 500; found by fuzzing the API
(tests/stress/test_fuzz.py). Ids are 32-bit on PostgreSQL, 64-bit on SQLite: both are checked."""

import httpx
import pytest

from bandstand.ids import MAX_ID
from bandstand.pagination import MAX_PAGE
from bandstand.testing.accounts import People, log_in_for_api
from tests.catalog.conftest import Catalog, names

PAST_POSTGRES = 2**31  # an int4 column refuses it
PAST_SQLITE = 2**63  # sqlite3 cannot bind it
HUGE = 10**30


@pytest.mark.parametrize("product_id", [PAST_POSTGRES, PAST_SQLITE, HUGE, -HUGE, 0])
async def test_an_id_out_of_range_is_refused(
    client: httpx.AsyncClient, catalog: Catalog, people: People, product_id: int
) -> None:
    assert (await client.get(f"/api/products/{product_id}")).status_code == 400
    await log_in_for_api(client, "staff")
    body = {"name": "Level", "price": "18.00", "category_id": catalog.categories["tools"]}
    assert (await client.put(f"/api/products/{product_id}", json=body)).status_code == 400
    assert (await client.delete(f"/api/products/{product_id}")).status_code == 400


async def test_the_largest_id_is_looked_up(client: httpx.AsyncClient, catalog: Catalog) -> None:
    missing = await client.get(f"/api/products/{MAX_ID}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "No such product."


@pytest.mark.parametrize("category_id", [PAST_POSTGRES, PAST_SQLITE, HUGE])
async def test_a_category_id_out_of_range_is_refused(
    client: httpx.AsyncClient, catalog: Catalog, people: People, category_id: int
) -> None:
    await log_in_for_api(client, "staff")
    body = {"name": "Level", "price": "18.00", "category_id": category_id}
    response = await client.post("/api/products", json=body)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("page", [MAX_PAGE + 1, PAST_SQLITE, HUGE])
async def test_a_page_past_the_limit_is_refused(
    client: httpx.AsyncClient, catalog: Catalog, page: int
) -> None:
    response = await client.get("/api/products", params={"page": page})
    assert response.status_code == 400, response.text


async def test_the_last_allowed_page_is_the_last_page(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    # A page past the end is the last page, up to the limit.
    body = (await client.get("/api/products", params={"page": MAX_PAGE, "page_size": 2})).json()
    assert (body["page"], body["pages"], len(body["items"])) == (3, 3, 1)


async def test_the_schema_states_the_limits_and_the_refusals(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    item = paths["/api/products/{product_id}"]
    (product_id,) = item["get"]["parameters"]
    assert (product_id["schema"]["minimum"], product_id["schema"]["maximum"]) == (1, MAX_ID)
    page = next(p for p in paths["/api/products"]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"]["maximum"] == MAX_PAGE
    assert set(item["get"]["responses"]) == {"200", "400", "404"}
    assert set(item["put"]["responses"]) == {"200", "400", "401", "403", "404"}
    assert set(item["delete"]["responses"]) == {"204", "400", "401", "403", "404"}
    assert set(paths["/api/products"]["post"]["responses"]) == {"201", "400", "401", "403"}


@pytest.mark.parametrize("product_id", [PAST_POSTGRES, PAST_SQLITE, HUGE])
async def test_the_pages_refuse_an_id_out_of_range(
    client: httpx.AsyncClient, catalog: Catalog, product_id: int
) -> None:
    page = await client.get(f"/products/{product_id}", headers={"accept": "text/html"})
    assert page.status_code == 400


@pytest.mark.parametrize("page", [MAX_PAGE + 1, PAST_SQLITE, HUGE])
async def test_the_list_page_shows_the_last_page_for_a_huge_number(
    client: httpx.AsyncClient, catalog: Catalog, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from project.catalog import routes

    monkeypatch.setattr(routes, "PAGE_SIZE", 2)
    response = await client.get("/products", params={"page": page, "sort": "price"})
    assert response.status_code == 200
    assert "Page 3 of 3" in response.text
    assert names(response.text) == ["Saw"]  # the dearest of five, two to a page
