"""`one_connection()`, which the suite's fixtures fill the tables through: on PostgreSQL their
queries share one connection instead of each opening its own; on SQLite they run as before."""

from piccolo.apps.user.tables import BaseUser
from piccolo.engine.finder import engine_finder

from bandstand.testing.database import one_connection


async def backend() -> int:
    rows = await BaseUser.raw("SELECT pg_backend_pid() AS pid")
    return int(rows[0]["pid"])


async def test_queries_inside_share_one_connection(database_kind: str) -> None:
    engine = engine_finder()
    assert engine is not None
    async with one_connection():
        inside = engine.transaction_exists()
        pids = {await backend() for _ in range(3)} if database_kind == "postgres" else set()

    if database_kind == "sqlite":
        assert not inside  # its kept query threads serve the queries, as outside
        return
    assert inside
    assert len(pids) == 1
    # Outside, with no app's pool open, each query has a connection of its own.
    assert len({await backend() for _ in range(2)}) == 2
