import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from project.catalog import demo, queries
from project.catalog.tables import Category, Product
from tests.catalog.conftest import Catalog, names


async def test_products_page_lists_demo_products_escaped(client: httpx.AsyncClient) -> None:
    await demo.load()
    category = await Category.select(Category.id).first()
    assert category is not None
    await Product.insert(
        Product(name="<script>alert(1)</script>", description="", price=1, category=category["id"])
    )

    response = await client.get("/products")

    assert response.status_code == 200
    assert "Inference box, 1 GPU" in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>alert(1)" not in response.text


async def test_demo_load_is_idempotent_and_clear_removes_it(clean_tables: None) -> None:
    # The site's own category and product, there before the demo: clear leaves them alone.
    (ours,) = await Category.insert(Category(slug="ours", name="Ours"))
    await Product.insert(Product(name="Our product", price=Decimal("1.00"), category=ours["id"]))
    await demo.load()
    await demo.load()
    assert await Product.count() == len(demo.PRODUCTS) + 1
    assert await Category.count() == len(demo.CATEGORIES) + 1
    await demo.clear()
    assert await Product.select(Product.name).output(as_list=True) == ["Our product"]
    assert await Category.select(Category.slug).output(as_list=True) == ["ours"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Hammer", "Python cookbook", "Saw", "Screwdriver set", "SQL primer"]),
        # Name or description, any case.
        ({"q": "HAMMER"}, ["Hammer", "Python cookbook"]),
        ({"q": "  primer "}, ["SQL primer"]),
        # % and _ are searched for as text, not as LIKE wildcards.
        ({"q": "100%"}, ["Saw"]),
        ({"q": "s_t"}, []),  # a wildcard would match "set"
        ({"q": "%"}, ["Saw"]),
        ({"category": "books"}, ["Python cookbook", "SQL primer"]),
        ({"category": "books", "q": "sql"}, ["SQL primer"]),
        ({"category": "empty"}, []),
        ({"sort": "price"}, ["SQL primer", "Screwdriver set", "Hammer", "Python cookbook", "Saw"]),
        ({"sort": "-price"}, ["Saw", "Python cookbook", "Hammer", "Screwdriver set", "SQL primer"]),
        ({"sort": "-name"}, ["SQL primer", "Screwdriver set", "Saw", "Python cookbook", "Hammer"]),
        ({"sort": "newest"}, ["SQL primer", "Python cookbook", "Saw", "Screwdriver set", "Hammer"]),
    ],
)
async def test_search_filter_and_sort(
    client: httpx.AsyncClient, catalog: Catalog, query: dict[str, str], expected: list[str]
) -> None:
    response = await client.get("/products", params=query)

    assert response.status_code == 200
    assert names(response.text) == expected
    assert f"{len(expected)} product" in response.text


async def test_pages_cover_every_product_once_in_order(catalog: Catalog) -> None:
    seen: list[str] = []
    for number in (1, 2, 3):
        products, page = await queries.find_products(sort="price", page=number, size=2)
        assert (page.number, page.pages, page.total) == (number, 3, 5)
        seen += [product.name for product in products]
    assert seen == ["SQL primer", "Screwdriver set", "Hammer", "Python cookbook", "Saw"]
    # Past the end is the last page, not an empty one.
    products, page = await queries.find_products(sort="price", page=40, size=2)
    assert page.number == 3
    assert [product.name for product in products] == ["Saw"]


async def test_pagination_links_keep_the_filters(
    client: httpx.AsyncClient, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from project.catalog import routes

    monkeypatch.setattr(routes, "PAGE_SIZE", 2)
    response = await client.get("/products", params={"category": "tools", "sort": "-price"})

    assert names(response.text) == ["Saw", "Hammer"]
    assert "Page 1 of 2" in response.text
    next_link = re.search(r'href="([^"]+)"[^>]*rel="next"', response.text)
    assert next_link
    target = parse_qs(urlsplit(next_link.group(1).replace("&amp;", "&")).query)
    assert target == {"category": ["tools"], "sort": ["-price"], "page": ["2"]}
    second = await client.get(next_link.group(1).replace("&amp;", "&"))
    assert names(second.text) == ["Screwdriver set"]
    assert 'rel="prev"' in second.text
    assert 'rel="next"' not in second.text


async def test_htmx_requests_get_only_the_results(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    full = await client.get("/products", params={"q": "saw"})
    partial = await client.get("/products", params={"q": "saw"}, headers={"HX-Request": "true"})
    restore = await client.get(
        "/products",
        params={"q": "saw"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )

    assert "<html" in full.text
    assert "<html" not in partial.text
    assert 'id="results"' not in partial.text
    assert names(partial.text) == ["Saw"]
    assert "HX-Request" in partial.headers["vary"]
    # Restoring history after a cache miss needs the whole page.
    assert "<html" in restore.text


async def test_bad_query_values_are_a_clear_400(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    for params in ({"sort": "price; DROP TABLE product"}, {"page": "two"}):
        response = await client.get("/products", params=params)
        assert response.status_code == 400
    assert await Product.count() == 5


async def test_detail_page_and_404(client: httpx.AsyncClient, catalog: Catalog) -> None:
    response = await client.get(f"/products/{catalog.products['Saw']}")

    assert response.status_code == 200
    assert "Cuts 100% of wood_types" in response.text
    assert "40.00" in response.text
    assert "/products?category=tools" in response.text
    assert "Edit" not in response.text  # not for anonymous visitors
    assert (await client.get("/products/999999")).status_code == 404
