"""An exhausted PostgreSQL pool refuses after its acquire timeout instead of waiting forever,
and is whole again once the connection that held it comes back; its waiters are served in the
order they came. A connection goes back to the pool without a round trip: a transaction left
open is rolled back, session settings stay."""

from __future__ import annotations

import asyncio

import pytest

from bandstand.database.postgres import PoolerSafePostgresEngine
from bandstand.database.url import PostgresDatabase, parse_database_url
from bandstand.testing.database import ADMIN_URL

pytestmark = pytest.mark.engine_independent


@pytest.fixture
def idle_engine() -> PoolerSafePostgresEngine:
    # Outside the event loop: parsing a URL without a password reads ~/.pgpass, and Piccolo's
    # engine runs its version check synchronously as it is made.
    database = parse_database_url(ADMIN_URL)
    assert isinstance(database, PostgresDatabase)
    return PoolerSafePostgresEngine(database, pool_min=0, pool_max=1, acquire_timeout=0.2)


@pytest.mark.timeout(30)
async def test_an_exhausted_pool_times_out_then_recovers(engine: PoolerSafePostgresEngine) -> None:
    held = await engine.acquire()
    with pytest.raises(TimeoutError):
        await engine.run_ddl("SELECT 1")
    await engine.release(held)
    assert [dict(row) for row in await engine.run_ddl("SELECT 1 AS one")] == [{"one": 1}]


@pytest.mark.timeout(30)
async def test_a_connection_given_back_goes_to_the_first_waiter(
    engine: PoolerSafePostgresEngine,
) -> None:
    held = await engine.acquire()
    waiter = asyncio.create_task(engine.acquire())
    await asyncio.sleep(0.05)  # it is waiting
    releasing = asyncio.create_task(engine.release(held))
    await asyncio.sleep(0)  # the release has begun: the pool takes the connection back next
    # A newcomer's first step, queued now, runs after that and before the woken waiter's: with
    # asyncpg's pool alone it takes the connection, and the waiter waits again behind it (the
    # long tail of a loaded site).
    newcomer = asyncio.create_task(engine.acquire())

    try:
        with pytest.raises(TimeoutError):
            await engine.release(await newcomer)
    finally:
        await releasing
        await engine.release(await waiter)


async def test_a_released_connection_goes_back_without_a_reset_query(
    engine: PoolerSafePostgresEngine,
) -> None:
    # asyncpg's default reset (RESET ALL among others) would put the setting back.
    connection = await engine.acquire()
    await connection.execute("SET application_name = 'kept'")
    await engine.release(connection)

    (row,) = await engine.run_ddl("SHOW application_name")
    assert row["application_name"] == "kept"


@pytest.mark.timeout(30)
async def test_a_transaction_left_open_is_rolled_back_on_release(
    engine: PoolerSafePostgresEngine,
) -> None:
    # The pool has one connection, so its temporary table is seen again after the release.
    await engine.run_ddl("CREATE TEMPORARY TABLE release_check (n int)")
    connection = await engine.acquire()
    await connection.execute("BEGIN; INSERT INTO release_check VALUES (1)")
    await engine.release(connection)

    (row,) = await engine.run_ddl("SELECT count(*) AS n FROM release_check")
    assert row["n"] == 0


@pytest.mark.timeout(30)
def test_a_pool_started_again_on_another_event_loop_queues_its_waiters(
    idle_engine: PoolerSafePostgresEngine,
) -> None:
    """As the suite's tests (each on its own loop) and the app's lifespan share the run's
    engine: waiting for a connection on one loop must not tie the next loop's waiters to it."""
    engine = idle_engine

    async def three_queries_on_one_connection() -> list[int]:
        await engine.start_connection_pool()
        try:
            queries = (engine.run_ddl(f"SELECT {n} AS n") for n in range(3))
            return [rows[0]["n"] for rows in await asyncio.gather(*queries)]
        finally:
            await engine.close_connection_pool()

    assert asyncio.run(three_queries_on_one_connection()) == [0, 1, 2]
    assert asyncio.run(three_queries_on_one_connection()) == [0, 1, 2]
