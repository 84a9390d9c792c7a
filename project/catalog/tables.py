from piccolo.columns import ForeignKey, Integer, Numeric, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.readable import Readable
from piccolo.table import Table


class Category(Table):
    id: Serial  # Piccolo adds it; declared for type checkers
    name = Varchar(length=100, unique=True)
    slug = Varchar(length=100, unique=True)

    @classmethod
    def get_readable(cls) -> Readable:
        """How a product's category shows in the admin: its name, not its id."""
        return Readable(template="%s", columns=[cls.name])


class Product(Table):
    id: Serial
    name = Varchar(length=200, index=True)
    description = Text()
    price = Numeric(digits=(10, 2))
    category = ForeignKey(Category, on_delete=OnDelete.restrict, null=False)
    stock = Integer(default=0)
    created_at = Timestamptz()


TABLES = [Category, Product]
