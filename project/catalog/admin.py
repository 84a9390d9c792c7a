from piccolo_admin.endpoints import TableConfig

from project.catalog.tables import Category, Product

ADMIN = [
    TableConfig(
        Category, visible_filters=[Category.name], link_column=Category.name, menu_group="Catalog"
    ),
    TableConfig(
        Product,
        visible_columns=[
            Product.id,
            Product.name,
            Product.category,
            Product.price,
            Product.stock,
            Product.created_at,
        ],
        visible_filters=[Product.name, Product.category, Product.price],
        link_column=Product.name,
        menu_group="Catalog",
    ),
]
