"""Demo products, loaded into an empty database by `make run` and `piccolo project demo`."""

import datetime
from decimal import Decimal

from project.catalog.tables import Category, Product

CATEGORIES = {
    "gpus": "GPUs",
    "notebooks": "Notebooks",
    "datasets": "Datasets",
    "models": "Model licences",
    "courses": "Courses",
}

# (category, name, description, price, stock)
PRODUCTS = [
    ("gpus", "Inference box, 1 GPU", "A quiet workstation for local models.", "2499.00", 4),
    ("gpus", "Training rack, 8 GPUs", "For the fine-tuning weekend.", "48999.00", 1),
    ("gpus", "Edge accelerator", "Runs small vision models on 5 watts.", "149.00", 32),
    ("gpus", "Laptop eGPU dock", "Thunderbolt enclosure with a 16 GB card.", "899.00", 7),
    ("gpus", "Cloud GPU hours, 100", "Prepaid A100 time, valid for a year.", "1290.00", 50),
    ("gpus", "Used inference card", "Refurbished 24 GB card, tested.", "640.00", 3),
    ("gpus", "Mini PC with NPU", "Low-power box for always-on agents.", "529.00", 12),
    ("notebooks", "Prompt engineering workbook", "Exercises with worked answers.", "29.00", 120),
    ("notebooks", "Evaluation checklist", "What to measure before you ship.", "9.00", 300),
    ("notebooks", "RAG recipes", "Retrieval pipelines that survive production.", "39.00", 85),
    ("notebooks", "Agent design patterns", "Tools, memory and guardrails, with code.", "45.00", 60),
    ("notebooks", "Fine-tuning field notes", "LoRA, QLoRA and when not to bother.", "35.00", 40),
    (
        "notebooks",
        "Vector search primer",
        "Embeddings, indexes and recall, explained.",
        "19.00",
        150,
    ),
    (
        "notebooks",
        "Async Python for AI apps",
        "Event loops, streaming and back-pressure.",
        "32.00",
        75,
    ),
    ("datasets", "Support tickets, 50k", "Anonymised and labelled by intent.", "399.00", 999),
    ("datasets", "Product photos, 10k", "Studio shots with captions.", "249.00", 999),
    ("datasets", "Receipts, 5k", "Scanned receipts with line items.", "199.00", 999),
    ("datasets", "Call transcripts, 20k", "Diarised, with sentiment labels.", "549.00", 999),
    ("datasets", "Legal clauses, 100k", "Contract clauses tagged by type.", "899.00", 999),
    ("datasets", "Recipes with nutrition, 30k", "Ingredients, steps and macros.", "89.00", 999),
    ("datasets", "Street signs, 8k", "Images with bounding boxes.", "159.00", 999),
    ("models", "Sentiment model, on-prem", "Small, fast, 40 languages.", "1500.00", 100),
    ("models", "OCR model, receipts", "Line items out of a photo.", "2200.00", 100),
    (
        "models",
        "Embedding model, multilingual",
        "768 dimensions, commercial licence.",
        "990.00",
        100,
    ),
    ("models", "Speech-to-text, edge", "Runs on the edge accelerator.", "750.00", 100),
    ("models", "Classifier starter kit", "Train your own intent model in an hour.", "120.00", 100),
    ("courses", "Shipping LLM apps", "Two days: from prototype to PaaS.", "690.00", 24),
    ("courses", "Litestar and Piccolo in practice", "One day, hands-on.", "390.00", 30),
    ("courses", "Evaluating AI features", "Half a day on metrics that matter.", "190.00", 40),
    ("courses", "PostgreSQL for app developers", "Indexes, transactions, poolers.", "290.00", 30),
    ("courses", "Security for AI web apps", "Prompt injection to CSRF.", "350.00", 25),
    ("courses", "Self-paced video bundle", "Twelve hours of recorded talks.", "79.00", 999),
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
        now = datetime.datetime.now(datetime.UTC)
        await Product.insert(
            *(
                Product(
                    name=name,
                    description=description,
                    price=Decimal(price),
                    stock=stock,
                    category=ids[slug],
                    # Spread over two months, so "newest first" means something.
                    created_at=now - datetime.timedelta(days=2 * number, hours=number),
                )
                for number, (slug, name, description, price, stock) in enumerate(PRODUCTS)
            )
        )


async def clear() -> None:
    async with Category._meta.db.transaction():
        slugs = list(CATEGORIES)
        await Product.delete().where(Product.category.slug.is_in(slugs))
        await Category.delete().where(Category.slug.is_in(slugs))
