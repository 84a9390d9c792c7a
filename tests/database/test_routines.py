"""A compiled query made a routine (project/database/routines.py) is planned once per server
connection with the statement cache off, gives the rows its plain query gives, and outlives its
function being dropped or its table changing; where no function can be made it runs plain."""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import anyio
import asyncpg
import pytest
from piccolo.columns import ForeignKey, Integer, Numeric, Timestamptz, Varchar
from piccolo.querystring import QueryString
from piccolo.table import Table

from project.database.compiled import CompiledQuery, Slot
from project.database.postgres import PoolerSafePostgresEngine
from project.database.routines import PREFIX
from tests.database.conftest import parse
from tests.support.mandatory import skip_unless_ci
from tests.support.postgres_servers import PostgresServer, missing_prerequisites

pytestmark = pytest.mark.engine_independent

RUNS = 30
# PostgreSQL plans a function's query afresh for its first five runs, then settles on one plan.
PLANS_BEFORE_SETTLING = 6


@pytest.fixture(scope="module")
def counting_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL that counts how often each statement, nested in a function or not, is
    planned (pg_stat_statements)."""
    reason = missing_prerequisites()
    if reason is not None:
        skip_unless_ci(reason)
    settings = {
        "shared_preload_libraries": "'pg_stat_statements'",
        "pg_stat_statements.track": "all",
        "pg_stat_statements.track_planning": "on",
    }
    with PostgresServer(settings=settings) as server:
        yield server


async def superuser(server: PostgresServer) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=str(server.socket_dir), port=server.port, user="postgres", database=server.database
    )


def tables(engine: PoolerSafePostgresEngine) -> tuple[type[Table], type[Table]]:
    class Shelf(Table, db=engine, tablename="shelf"):
        label = Varchar(length=40)

    class Gauge(Table, db=engine, tablename="gauge"):
        name = Varchar(length=40)
        reading = Integer(null=True)
        weight = Numeric(digits=(8, 2))
        seen = Timestamptz()
        shelf = ForeignKey(Shelf)

    return Shelf, Gauge


def gauges_query(gauge: Any, shelf: Any) -> Any:
    """A join and a subquery: a query whose planning costs more than its run."""
    (lookup,) = shelf.select(shelf.id).where(shelf.label == Slot("label")).querystrings
    return (
        gauge.select(
            gauge.id,
            gauge.name,
            gauge.reading,
            gauge.weight,
            gauge.seen,
            gauge.shelf.label.as_alias("label"),
        )
        .where(gauge.shelf == QueryString("({})", lookup))
        .order_by(gauge.name)
    )


def gauges_page(engine: PoolerSafePostgresEngine, *, routine: bool = True) -> CompiledQuery:
    shelf, gauge = tables(engine)
    return CompiledQuery(lambda: gauges_query(gauge, shelf), paged=True, routine=routine)


class Fixture:
    def __init__(self, engine: PoolerSafePostgresEngine, shelf: Any, gauge: Any) -> None:
        self.engine, self.shelf, self.gauge = engine, shelf, gauge

    def compiled(self, *, routine: bool) -> CompiledQuery:
        return gauges_page(self.engine, routine=routine)


GAUGES = 12


async def filled_tables(engine: PoolerSafePostgresEngine) -> tuple[type[Table], type[Table]]:
    """The tables, made afresh: gauge NN on the top shelf for even NN, the bottom for odd."""
    shelf, gauge = tables(engine)
    await gauge.alter().drop_table(if_exists=True)
    await shelf.alter().drop_table(if_exists=True)
    await shelf.create_table()
    await gauge.create_table()
    shelves = await shelf.insert(shelf(label="top"), shelf(label="bottom"))
    seen = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    await gauge.insert(
        *(
            gauge(
                name=f"gauge {number:02}",
                reading=None if number == 3 else number * 10,
                weight=Decimal(number) + Decimal("0.25"),
                seen=seen + datetime.timedelta(hours=number),
                shelf=shelves[number % 2]["id"],
            )
            for number in range(GAUGES)
        )
    )
    return shelf, gauge


@pytest.fixture
def idle_engine(counting_postgres: PostgresServer) -> PoolerSafePostgresEngine:
    # One connection: what one server connection keeps is what is measured.
    return PoolerSafePostgresEngine(parse(counting_postgres.url()), pool_min=0, pool_max=1)


@pytest.fixture
async def gauges(
    idle_engine: PoolerSafePostgresEngine, counting_postgres: PostgresServer
) -> AsyncIterator[Fixture]:
    engine = idle_engine
    await engine.start_connection_pool()
    shelf, gauge = await filled_tables(engine)
    admin = await superuser(counting_postgres)
    try:
        await admin.execute(
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()"
        )
    finally:
        await admin.close()
    try:
        yield Fixture(engine, shelf, gauge)
    finally:
        await drop_routines(counting_postgres)
        await engine.close_connection_pool()


async def routine_functions(server: PostgresServer, *, drop: bool = False) -> list[str]:
    """The names of the routines' functions; with `drop`, dropped, as an operator may."""
    admin = await superuser(server)
    try:
        names = [
            row["proname"]
            for row in await admin.fetch(
                "SELECT proname FROM pg_proc WHERE proname LIKE $1", PREFIX + "%"
            )
        ]
        for name in names if drop else ():
            await admin.execute(f'DROP FUNCTION "{name}"')
    finally:
        await admin.close()
    return names


async def drop_routines(server: PostgresServer) -> list[str]:
    return await routine_functions(server, drop=True)


async def plans_and_calls(server: PostgresServer, table: str) -> tuple[int, int]:
    """How often the statements that read `table` (and are not a routine's call) were planned
    and run."""
    admin = await superuser(server)
    try:
        row = await admin.fetchrow(
            "SELECT coalesce(sum(plans), 0) AS plans, coalesce(sum(calls), 0) AS calls "
            "FROM pg_stat_statements WHERE query LIKE $1 AND query NOT LIKE $2",
            f'%FROM "{table}"%',
            f"%{PREFIX}%",
        )
    finally:
        await admin.close()
    return row["plans"], row["calls"]


async def run_pages(compiled: CompiledQuery) -> list[list[dict[str, Any]]]:
    pages = []
    for number in range(RUNS):
        label = ("top", "bottom")[number % 2]
        rows = await compiled.rows(label=label, limit=3, offset=number % 4)
        pages.append([dict(row) for row in rows])
    return pages


async def test_a_routine_is_planned_once_per_connection_and_a_plain_query_every_run(
    gauges: Fixture, counting_postgres: PostgresServer
) -> None:
    await run_pages(gauges.compiled(routine=True))
    routine_plans, routine_calls = await plans_and_calls(counting_postgres, "gauge")
    await run_pages(gauges.compiled(routine=False))
    plans, calls = await plans_and_calls(counting_postgres, "gauge")

    assert routine_calls == RUNS
    assert routine_plans <= PLANS_BEFORE_SETTLING
    assert (plans - routine_plans, calls - routine_calls) == (RUNS, RUNS)


async def test_a_routine_gives_the_rows_its_query_gives(gauges: Fixture) -> None:
    routine = await run_pages(gauges.compiled(routine=True))
    plain = await run_pages(gauges.compiled(routine=False))

    assert routine == plain
    assert {row["reading"] for page in routine for row in page} >= {None, 20}
    first = routine[0][0]
    assert (first["weight"], first["seen"].tzinfo) == (Decimal("0.25"), datetime.UTC)


async def test_a_routine_runs_as_a_call_of_its_function(gauges: Fixture) -> None:
    compiled = gauges.compiled(routine=True)
    await compiled.rows(label="top", limit=1, offset=0)
    routine = compiled._for(()).routine

    assert routine is not None
    assert (await routine.call()).startswith(f'SELECT * FROM "{PREFIX}')


async def test_a_dropped_function_is_made_again(
    gauges: Fixture, counting_postgres: PostgresServer
) -> None:
    compiled = gauges.compiled(routine=True)
    before = await run_pages(compiled)
    dropped = await drop_routines(counting_postgres)

    assert len(dropped) == 1
    assert await run_pages(compiled) == before
    assert await drop_routines(counting_postgres) == dropped


async def test_a_changed_column_type_makes_a_new_function(
    gauges: Fixture, counting_postgres: PostgresServer
) -> None:
    compiled = gauges.compiled(routine=True)
    before = await run_pages(compiled)
    await gauges.gauge.raw("ALTER TABLE gauge ALTER reading TYPE bigint")

    assert await run_pages(compiled) == before
    assert len(await drop_routines(counting_postgres)) == 2


async def test_in_a_transaction_a_dropped_function_fails_that_query_alone(
    gauges: Fixture, counting_postgres: PostgresServer
) -> None:
    compiled = gauges.compiled(routine=True)
    await compiled.rows(label="top", limit=1, offset=0)
    await drop_routines(counting_postgres)

    # The error aborted the transaction: calling again inside it could only fail again.
    with pytest.raises(asyncpg.UndefinedFunctionError):
        async with gauges.engine.transaction():
            await compiled.rows(label="top", limit=1, offset=0)
    assert len(await compiled.rows(label="top", limit=1, offset=0)) == 1


async def _make_reader(server: PostgresServer) -> None:
    admin = await superuser(server)
    try:
        await admin.execute(
            "DROP ROLE IF EXISTS reader; CREATE ROLE reader LOGIN PASSWORD 'reader'"
        )
    finally:
        await admin.close()


# Engines are made outside the event loop: Piccolo's engine checks the server's version
# synchronously as it is made.
@pytest.fixture
def reader_engine(counting_postgres: PostgresServer) -> PoolerSafePostgresEngine:
    """An engine for a role that may read the tables but create nothing (PostgreSQL 15 and
    later give no one but the database's owner CREATE on the public schema)."""
    asyncio.run(_make_reader(counting_postgres))
    url = counting_postgres.url().replace(
        f"{counting_postgres.user}:{counting_postgres.password}@", "reader:reader@"
    )
    return PoolerSafePostgresEngine(parse(url), pool_min=0, pool_max=1)


async def test_a_first_run_in_a_transaction_runs_the_plain_query(
    gauges: Fixture, counting_postgres: PostgresServer
) -> None:
    compiled = gauges.compiled(routine=True)
    # The pool's one connection is the transaction's: making the function would wait for it.
    async with gauges.engine.transaction():
        rows = await compiled.rows(label="top", limit=2, offset=0)
    made_in_transaction = await routine_functions(counting_postgres)
    again = await compiled.rows(label="top", limit=2, offset=0)
    assert [dict(row) for row in again] == [dict(row) for row in rows]

    assert [row["name"] for row in rows] == ["gauge 00", "gauge 02"]
    assert made_in_transaction == []
    assert len(await routine_functions(counting_postgres)) == 1


async def test_a_role_that_may_not_create_functions_runs_the_plain_query(
    gauges: Fixture, reader_engine: PoolerSafePostgresEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await gauges.gauge.raw("GRANT SELECT ON gauge, shelf TO reader")
    engine = reader_engine
    await engine.start_connection_pool()
    try:
        compiled = gauges_page(engine)
        with caplog.at_level(logging.WARNING, logger="project.database.routines"):
            rows = await compiled.rows(label="top", limit=20, offset=0)
        routine = compiled._for(()).routine
        assert routine is not None
        assert await routine.call() == routine.sql
    finally:
        await engine.close_connection_pool()

    assert len(rows) == 6
    assert "permission denied" in caplog.text


@pytest.fixture
def cache_on_engine(counting_postgres: PostgresServer) -> PoolerSafePostgresEngine:
    url = counting_postgres.url(statement_cache_size="100")
    return PoolerSafePostgresEngine(parse(url), pool_min=0, pool_max=1)


def test_with_the_statement_cache_on_a_query_is_no_routine(
    cache_on_engine: PoolerSafePostgresEngine,
) -> None:
    assert gauges_page(cache_on_engine)._for(()).routine is None


@pytest.fixture
def other_engines(counting_postgres: PostgresServer) -> list[PoolerSafePostgresEngine]:
    """Engines of as many processes."""
    url = counting_postgres.url()
    return [PoolerSafePostgresEngine(parse(url), pool_min=0, pool_max=1) for _ in range(6)]


async def test_processes_making_the_same_function_at_once_all_get_it(
    gauges: Fixture, other_engines: list[PoolerSafePostgresEngine]
) -> None:
    calls = []
    for engine in other_engines:
        await engine.start_connection_pool()
        routine = gauges_page(engine)._for(()).routine
        assert routine is not None
        calls.append(routine.call())
    try:
        made = await asyncio.gather(*calls)
    finally:
        for engine in other_engines:
            await engine.close_connection_pool()

    assert len(set(made)) == 1
    assert made[0].startswith(f'SELECT * FROM "{PREFIX}')


async def test_routines_through_pgbouncer_in_transaction_mode(
    bouncer_engine: PoolerSafePostgresEngine,
) -> None:
    """Twenty clients on PgBouncer's two server connections, on which the function was never
    called before."""
    engine = bouncer_engine
    await engine.start_connection_pool()
    wrong: list[object] = []
    try:
        await filled_tables(engine)
        compiled = gauges_page(engine)

        async def client(offset: int) -> None:
            for number in range(20):
                label = ("top", "bottom")[number % 2]
                rows = await compiled.rows(label=label, limit=2, offset=offset % 3)
                shelved = [f"gauge {n:02}" for n in range(number % 2, GAUGES, 2)]
                expected = shelved[offset % 3 :][:2]
                if [row["name"] for row in rows] != expected:
                    wrong.append((offset, number, rows))

        async with anyio.create_task_group() as group:
            for offset in range(20):
                group.start_soon(client, offset)
        routine = compiled._for(()).routine
        assert routine is not None
        assert (await routine.call()).startswith(f'SELECT * FROM "{PREFIX}')
    finally:
        await engine.close_connection_pool()
    assert wrong == []
