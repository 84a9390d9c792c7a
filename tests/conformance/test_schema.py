"""Schema: indexes, create_index, drop_index, create_table, alter (add, drop, rename and change
a column), table_exists — and what the queries after a change see.

On SQLite, Bandstand's engine keeps a few connections, and SQLite checks a connection's cached
schema again only when a plain query runs, not when a DDL statement or a PRAGMA is prepared:
`indexes()` listed no index after `create_index()`, a recreated table's index "already
existed", and an upsert missed a unique index made on another connection (issue 24)."""

from __future__ import annotations

from typing import Any

import aiosqlite
from piccolo.columns import BigInt, Integer, Text, Varchar
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table, create_table_class

from tests.conformance.harness import AnyEngine, Backend, attempt, same_on_both

# Enough for SQLite's stale schemas to show (issue 24); PostgreSQL has none to find, and its
# DDL is slower.
SQLITE_ROUNDS, POSTGRES_ROUNDS = 6, 2


def rounds_on(engine: AnyEngine) -> range:
    return range(SQLITE_ROUNDS if engine.engine_type == "sqlite" else POSTGRES_ROUNDS)


def crew_table(engine: AnyEngine, **columns: Any) -> type[Table]:
    """A table of the scenario's own, `crew`, with `columns` (by default a name and a size)."""
    members = columns or {"name": Varchar(length=50), "size": Integer(default=0)}
    return create_table_class(
        "Crew", class_kwargs={"tablename": "crew", "db": engine}, class_members=members
    )


async def test_indexes_of_a_table_made_again_and_again(backend: Backend) -> None:
    """Piccolo's own tests/table/test_indexes.py: each test makes the table, indexes it, lists
    its indexes, drops the index and the table."""

    async def scenario(engine: AnyEngine) -> object:
        rounds = []
        for _ in rounds_on(engine):
            crew = crew_table(engine)
            await crew.create_table()
            for columns in ([crew.name], [crew.id, crew.name]):  # type: ignore[attr-defined]
                await crew.create_index(columns)
                made = sorted(await crew.indexes())
                await crew.drop_index(columns)
                rounds.append({"made": made, "dropped": sorted(await crew.indexes())})
            await crew.alter().drop_table()
        return rounds

    rounds = await same_on_both(backend, scenario)
    assert all("crew_name" in each["made"] for each in rounds[::2])


async def test_tables_made_with_indexes_again_and_again(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        rounds = []
        for _ in rounds_on(engine):
            crew = crew_table(engine, name=Varchar(length=50, index=True), size=Integer())
            before = await crew.table_exists()
            await crew.create_table()
            await crew.create_table(if_not_exists=True)
            made = {"existed": before, "indexes": sorted(await crew.indexes())}
            made["again"] = await attempt(crew.create_index([crew.name]))  # type: ignore[attr-defined]
            made["if not exists"] = await attempt(
                crew.create_index([crew.name], if_not_exists=True)  # type: ignore[attr-defined]
            )
            await crew.alter().drop_table()
            made["exists after drop"] = await crew.table_exists()
            rounds.append(made)
        return rounds

    rounds = await same_on_both(backend, scenario)
    assert "crew_name" in rounds[-1]["indexes"]


async def test_an_upsert_after_a_unique_index_is_made(backend: Backend) -> None:
    """The index is made by one statement and used by the next, which may run elsewhere."""

    async def scenario(engine: AnyEngine) -> object:
        crew = crew_table(engine)
        await crew.create_table()
        await crew.insert(crew(name="a", size=1))
        await crew.raw("CREATE UNIQUE INDEX crew_name_unique ON crew (name)")
        first = await crew.insert(crew(name="a", size=2)).on_conflict(
            target=crew.name,  # type: ignore[attr-defined]
            action="DO UPDATE",
            values=[crew.size],  # type: ignore[attr-defined]
        )
        async with engine.transaction():
            await crew.raw("DROP INDEX crew_name_unique")
            await crew.create_index([crew.size])  # type: ignore[attr-defined]
        return {
            "upsert": first,
            "rows": await crew.select(crew.name, crew.size).order_by(crew.id),  # type: ignore[attr-defined]
            "indexes after a transaction": sorted(await crew.indexes()),
            "upsert without the index": await attempt(
                crew.insert(crew(name="a", size=3)).on_conflict(
                    target=crew.name,  # type: ignore[attr-defined]
                    action="DO NOTHING",
                )
            ),
        }

    result = await same_on_both(backend, scenario)
    assert result["rows"] == [{"name": "a", "size": "int:2"}]


async def from_another_process(engine: AnyEngine, statement: str) -> None:
    """Run `statement` on a connection of its own, as a migration run from the command line
    while the app serves would."""
    if isinstance(engine, SQLiteEngine):
        async with aiosqlite.connect(engine.path) as connection:
            await connection.execute(statement)
            await connection.commit()
        return
    assert isinstance(engine, PostgresEngine)
    connection = await engine.get_new_connection()
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def test_queries_after_another_process_changed_the_schema(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        crew = crew_table(engine)
        await crew.create_table()
        await crew.insert(crew(name="a", size=1))
        await from_another_process(engine, "CREATE UNIQUE INDEX crew_name_unique ON crew (name)")
        upserts = [
            await crew.insert(crew(name="a", size=size))
            .on_conflict(
                target=crew.name,  # type: ignore[attr-defined]
                action="DO UPDATE",
                values=[crew.size],  # type: ignore[attr-defined]
            )
            .returning(crew.size)  # type: ignore[attr-defined]
            for size in (2, 3)
        ]
        await from_another_process(engine, "CREATE INDEX crew_size ON crew (size)")
        return {"upserts": upserts, "indexes": sorted(await crew.indexes())}

    result = await same_on_both(backend, scenario)
    assert result["upserts"] == [[{"size": "int:2"}], [{"size": "int:3"}]]


async def test_alter(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        crew = crew_table(engine)
        await crew.create_table()
        await crew.insert(crew(name="a", size=1), crew(name="b", size=2))
        steps: dict[str, object] = {}

        async def step(name: str, alter: Any) -> None:
            steps[name] = await attempt(alter)
            steps[f"{name}: rows"] = await crew.raw("SELECT * FROM crew ORDER BY id")

        await step("add", crew.alter().add_column("notes", Text(default="none")))
        await step("add nullable", crew.alter().add_column("rank", Integer(null=True)))
        await step("rename", crew.alter().rename_column("notes", "remarks"))
        await step("drop", crew.alter().drop_column("rank"))
        await step("change type", crew.alter().set_column_type(crew.size, BigInt()))  # type: ignore[attr-defined]
        await step("set null", crew.alter().set_null(crew.name, boolean=True))  # type: ignore[attr-defined]
        await step("set default", crew.alter().set_default(crew.size, 5))  # type: ignore[attr-defined]
        changed = crew_table(engine, name=Varchar(length=50, null=True), size=BigInt(default=5))
        # SQLite can't change a column's type or nullability: the insert fails there, alike.
        steps["insert after"] = await attempt(changed.insert(changed(name=None)))
        steps["read after"] = await changed.select(changed.name, changed.size).order_by(  # type: ignore[attr-defined]
            changed.id  # type: ignore[attr-defined]
        )
        steps["remarks"] = await crew.raw("SELECT remarks FROM crew ORDER BY id")
        await crew.alter().rename_table("troupe")
        steps["renamed: old exists"] = await crew.table_exists()
        steps["renamed: rows"] = await crew.raw("SELECT name FROM troupe ORDER BY id")
        await crew.raw("DROP TABLE troupe")
        return steps

    steps = await same_on_both(backend, scenario)
    assert steps["rename"] is None or steps["rename"] == []
