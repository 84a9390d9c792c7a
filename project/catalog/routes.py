from litestar import get
from litestar.response import Template

from project.catalog.tables import Product


@get("/products", include_in_schema=False)
async def product_list() -> Template:
    products = await (
        Product.select(
            Product.id,
            Product.name,
            Product.price,
            Product.category.name.as_alias("category"),
        )
        .order_by(Product.name)
        .limit(20)
    )
    return Template("catalog/list.html", context={"products": products})


ROUTES = [product_list]
