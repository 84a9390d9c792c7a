from piccolo_admin.endpoints import TableConfig

from project.catalog.tables import Category, Product

# No link_column: piccolo-admin 1.14's list view fails to render rows with one.
ADMIN = [
    TableConfig(Category, visible_filters=[Category.name], menu_group="Catalog"),
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
        menu_group="Catalog",
    ),
]
