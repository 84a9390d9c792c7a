"""`.batch()` returns every row exactly once, in chunks, on whichever engine the pass runs."""

from decimal import Decimal

from piccolo.engine.finder import engine_finder

from project.catalog.tables import Category, Product


async def test_batch_yields_all_rows_in_chunks(clean_tables: None) -> None:
    category = (await Category.insert(Category(name="Batch", slug="batch")))[0]["id"]
    await Product.insert(
        *(
            Product(name=f"p{n}", description="", price=Decimal(n), category=category)
            for n in range(23)
        )
    )
    query = Product.select(Product.name).where(Product.category == category).order_by(Product.id)

    chunks = []
    async with await query.batch(batch_size=5) as batches:
        async for rows in batches:
            chunks.append([row["name"] for row in rows])

    assert [len(chunk) for chunk in chunks] == [5, 5, 5, 5, 3]
    assert [name for chunk in chunks for name in chunk] == [f"p{n}" for n in range(23)]


async def test_batch_inside_a_transaction_sees_its_writes(clean_tables: None) -> None:
    engine = engine_finder()
    assert engine is not None
    if engine.engine_type == "sqlite":
        return  # SQLite's batch opens its own connection, outside the transaction, by design
    async with engine.transaction():
        category = (await Category.insert(Category(name="Tx", slug="tx")))[0]["id"]
        await Product.insert(
            Product(name="inside", description="", price=Decimal(1), category=category)
        )
        async with await Product.select(Product.name).batch(batch_size=10) as batches:
            names = [row["name"] async for rows in batches for row in rows]
    assert names == ["inside"]
