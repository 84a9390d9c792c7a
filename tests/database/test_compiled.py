"""Compiled queries give what Piccolo's own query gives, on whichever engine the suite runs."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from piccolo.columns import Integer, Varchar
from piccolo.table import Table

from project.catalog.tables import Category, Product
from project.database.compiled import CompiledQuery, Slot
from project.database.sqlite import TunedSQLiteEngine


@pytest.fixture
async def products(clean_tables: None) -> list[int]:
    category = (await Category.insert(Category(slug="tools", name="Tools")))[0]["id"]
    rows = await Product.insert(
        *(
            Product(
                name=f"Product {number}",
                description="",
                price=Decimal(number) + Decimal("0.50"),
                stock=number,
                category=category,
            )
            for number in range(5)
        )
    )
    return [row["id"] for row in rows]


async def test_rows_are_the_ones_piccolo_returns(products: list[int]) -> None:
    def query(product_id: object) -> object:
        return Product.select(
            Product.id, Product.name, Product.price, Product.created_at, Product.category.slug
        ).where(Product.id == product_id)

    compiled = CompiledQuery(lambda: query(Slot("id")))  # type: ignore[arg-type, return-value]
    for product_id in products[:2]:
        expected = await query(product_id)  # type: ignore[misc]
        assert [dict(row) for row in await compiled.rows(id=product_id)] == expected
        assert isinstance(expected[0]["created_at"], datetime.datetime)
        assert isinstance(expected[0]["price"], Decimal)


async def test_each_shape_is_compiled_once_and_each_run_binds_its_values(
    products: list[int],
) -> None:
    built: list[tuple[bool, ...]] = []

    def build(above: bool) -> object:
        built.append((above,))
        query = Product.select(Product.stock).order_by(Product.stock)
        return query.where(Product.stock > Slot("stock")) if above else query

    compiled = CompiledQuery(build, paged=True)  # type: ignore[arg-type]
    page = await compiled.rows(True, stock=1, limit=2, offset=1)
    assert [row["stock"] for row in page] == [3, 4]
    assert [row["stock"] for row in await compiled.rows(True, stock=0, limit=2, offset=0)] == [
        1,
        2,
    ]
    assert [row["stock"] for row in await compiled.rows(False, limit=9, offset=3)] == [3, 4]
    assert built == [(True,), (False,)]


async def test_a_missing_value_is_an_error_not_a_null(products: list[int]) -> None:
    compiled = CompiledQuery(lambda: Product.select().where(Product.id == Slot("id")))
    with pytest.raises(KeyError, match="id"):
        await compiled.rows(ident=products[0])


class Counter(Table):
    name = Varchar(length=20)
    value = Integer()


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[TunedSQLiteEngine, TunedSQLiteEngine]]:
    # Made outside the event loop: an engine checks the SQLite version as it is made.
    yield TunedSQLiteEngine(tmp_path / "a.sqlite3"), TunedSQLiteEngine(tmp_path / "b.sqlite3")
    Counter._meta.db = None  # type: ignore[assignment]


@pytest.mark.engine_independent
async def test_a_table_moved_to_another_engine_gets_its_sql_again(
    engines: tuple[TunedSQLiteEngine, TunedSQLiteEngine],
) -> None:
    first, second = engines
    for engine, value in ((first, 1), (second, 2)):
        await engine.run_ddl("CREATE TABLE counter (id INTEGER PRIMARY KEY, name, value INTEGER)")
        await engine.run_ddl(f"INSERT INTO counter (name, value) VALUES ('n', {value})")
    compiled = CompiledQuery(lambda: Counter.select(Counter.value))
    Counter._meta.db = first
    assert await compiled.rows() == [{"value": 1}]
    Counter._meta.db = second
    assert await compiled.rows() == [{"value": 2}]


@pytest.mark.engine_independent
async def test_sqlite_integers_come_back_as_piccolo_gives_them(
    engines: tuple[TunedSQLiteEngine, TunedSQLiteEngine],
) -> None:
    engine = engines[0]
    await engine.run_ddl("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)")
    # SQLite keeps what doesn't fit INTEGER affinity as text; Piccolo reads "7.0" as 7.
    await engine.run_ddl(
        "INSERT INTO counter (value) VALUES (9007199254740993), (-5), ('7.0'), ('1e3')"
    )
    rows = await engine.run_ddl("SELECT value FROM counter ORDER BY id")
    assert [row["value"] for row in rows] == [9007199254740993, -5, 7, 1000]
    assert all(type(row["value"]) is int for row in rows)
