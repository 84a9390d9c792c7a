import httpx

from project.catalog import demo
from project.catalog.tables import Category, Product


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
    await demo.load()
    await demo.load()
    assert await Product.count() == len(demo.PRODUCTS)
    assert await Category.count() == len(demo.CATEGORIES)
    await demo.clear()
    assert await Product.count() == 0
    assert await Category.count() == 0
