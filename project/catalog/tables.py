from piccolo.columns import ForeignKey, Integer, Numeric, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Category(Table):
    id: Serial  # Piccolo adds it; declared for type checkers
    name = Varchar(length=100, unique=True)
    slug = Varchar(length=100, unique=True)


class Product(Table):
    id: Serial
    name = Varchar(length=200, index=True)
    description = Text()
    price = Numeric(digits=(10, 2))
    category = ForeignKey(Category, on_delete=OnDelete.restrict, null=False)
    stock = Integer(default=0)
    created_at = Timestamptz()


TABLES = [Category, Product]
