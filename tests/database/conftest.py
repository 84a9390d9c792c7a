from collections import defaultdict
from collections.abc import AsyncIterator

import pytest

from bandstand.database.postgres import PoolerSafePostgresEngine
from bandstand.database.url import PostgresDatabase, parse_database_url
from tests.support.postgres_servers import PgBouncer


# Outside the event loop, like the engines made from it: parsing a URL without a password reads
# ~/.pgpass, and Piccolo's engine runs its version check synchronously as it is made.
def parse(url: str) -> PostgresDatabase:
    database = parse_database_url(url)
    assert isinstance(database, PostgresDatabase)
    return database


@pytest.fixture
def bouncer_engine(pgbouncer: PgBouncer) -> PoolerSafePostgresEngine:
    """An engine of 20 connections to the suite's PgBouncer (transaction mode, 2 servers)."""
    url = pgbouncer.url(sslmode="verify-full", sslrootcert=str(pgbouncer.ca_cert))
    return PoolerSafePostgresEngine(parse(url), pool_min=0, pool_max=20)


@pytest.fixture
async def engine(idle_engine: PoolerSafePostgresEngine) -> AsyncIterator[PoolerSafePostgresEngine]:
    """The module's `idle_engine` (made outside the event loop) with its pool started."""
    await idle_engine.start_connection_pool()
    yield idle_engine
    await idle_engine.close_connection_pool()


def migrations_ran(check_output: str) -> dict[str, list[bool]]:
    """What `piccolo migrations check` printed: for each app, whether each migration ran."""
    ran: dict[str, list[bool]] = defaultdict(list)
    for line in check_output.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        # A description may hold a "|": the app comes first and whether it ran last.
        if len(cells) >= 4 and cells[-1] in {"True", "False"}:
            ran[cells[0]].append(cells[-1] == "True")
    return dict(ran)
