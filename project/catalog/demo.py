"""Demo products, loaded into an empty database by `make run` and `piccolo project demo`."""

from decimal import Decimal

from project.catalog.tables import Category, Product

CATEGORIES = {
    "gpus": "GPUs",
    "notebooks": "Notebooks",
    "datasets": "Datasets",
}

PRODUCTS = [
    ("gpus", "Inference box, 1 GPU", "A quiet workstation for local models.", "2499.00"),
    ("gpus", "Training rack, 8 GPUs", "For the fine-tuning weekend.", "48999.00"),
    ("gpus", "Edge accelerator", "Runs small vision models on 5 watts.", "149.00"),
    ("notebooks", "Prompt engineering workbook", "Exercises with worked answers.", "29.00"),
    ("notebooks", "Evaluation checklist", "What to measure before you ship.", "9.00"),
    ("datasets", "Support tickets, 50k", "Anonymised and labelled by intent.", "399.00"),
    ("datasets", "Product photos, 10k", "Studio shots with captions.", "249.00"),
    ("datasets", "Receipts, 5k", "Scanned receipts with line items.", "199.00"),
]


async def is_loaded() -> bool:
    return bool(await Category.exists().where(Category.slug.is_in(list(CATEGORIES))))


async def load() -> None:
    """Insert the demo rows in one transaction; a second call changes nothing."""
    async with Category._meta.db.transaction():
        if await is_loaded():
            return
        categories = [Category(slug=slug, name=name) for slug, name in CATEGORIES.items()]
        await Category.insert(*categories)
        ids = {row["slug"]: row["id"] for row in await Category.select(Category.id, Category.slug)}
        await Product.insert(
            *(
                Product(
                    name=name,
                    description=description,
                    price=Decimal(price),
                    category=ids[slug],
                )
                for slug, name, description, price in PRODUCTS
            )
        )


async def clear() -> None:
    async with Category._meta.db.transaction():
        slugs = list(CATEGORIES)
        await Product.delete().where(Product.category.slug.is_in(slugs))
        await Category.delete().where(Category.slug.is_in(slugs))
