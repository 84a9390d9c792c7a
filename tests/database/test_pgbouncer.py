"""The app through a real PgBouncer in transaction mode (2 server connections, TLS both sides).

The same workload (on the test tables) passes with the default statement cache (0) and fails
with asyncpg's own cache on, so the suite proves the setting is what makes it work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import anyio
import asyncpg
import httpx
import pytest

from bandstand.testing.accounts import CSRF_FIELD
from bandstand.testing.database import run_piccolo
from tests.database.conftest import migrations_ran
from tests.support import PROJECT_ROOT
from tests.support.live_server import live_server
from tests.support.postgres_servers import PgBouncer, PostgresServer

pytestmark = pytest.mark.engine_independent

TASKS = 50  # clients, against PgBouncer's 2 server connections


def bouncer_url(pgbouncer: PgBouncer, **query: str) -> str:
    return pgbouncer.url(sslmode="verify-full", sslrootcert=str(pgbouncer.ca_cert), **query)


@pytest.fixture(scope="module")
def migrated_through_pgbouncer(pgbouncer: PgBouncer) -> subprocess.CompletedProcess[str]:
    return run_piccolo("migrations", "forwards", "all", database_url=bouncer_url(pgbouncer))


def run_workload(url: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.workload", "--tasks", str(TASKS), "--rounds", "3"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url, "DATABASE_POOL_MAX": str(TASKS)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_migrations_run_through_pgbouncer(
    migrated_through_pgbouncer: subprocess.CompletedProcess[str], pgbouncer: PgBouncer
) -> None:
    first = migrated_through_pgbouncer
    assert first.returncode == 0, first.stdout + first.stderr
    # A second CLI process is where a statement cache breaks: its names collide with the first's.
    again = run_piccolo("migrations", "forwards", "all", database_url=bouncer_url(pgbouncer))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No migrations need to be run" in again.stdout
    check = run_piccolo("migrations", "check", database_url=bouncer_url(pgbouncer))
    ran = migrations_ran(check.stdout)
    assert ran.get("bandstand"), check.stdout  # the framework's own, at least
    assert all(all(app) for app in ran.values()), check.stdout


async def test_migrations_create_no_extensions(
    migrated_through_pgbouncer: subprocess.CompletedProcess[str], tls_postgres: PostgresServer
) -> None:
    # Restricted managed databases refuse CREATE EXTENSION; Piccolo's default engine runs one.
    connection = await asyncpg.connect(
        host=str(tls_postgres.socket_dir),
        port=tls_postgres.port,
        user="postgres",
        database="bandstand",
    )
    try:
        extensions = await connection.fetch("SELECT extname FROM pg_extension")
    finally:
        await connection.close()
    assert [row["extname"] for row in extensions] == ["plpgsql"]


def test_mixed_load_through_pgbouncer_succeeds_with_the_default_cache(
    migrated_through_pgbouncer: subprocess.CompletedProcess[str], pgbouncer: PgBouncer
) -> None:
    result = run_workload(bouncer_url(pgbouncer))

    assert result["errors"] == []
    assert result["operations"] == TASKS * 3 * 5
    assert result["stored"] == result["inserted"]


def test_control_the_same_load_with_a_statement_cache_fails(
    migrated_through_pgbouncer: subprocess.CompletedProcess[str], pgbouncer: PgBouncer
) -> None:
    result = run_workload(bouncer_url(pgbouncer, statement_cache_size="100"))

    errors = result["errors"]
    assert isinstance(errors, list)
    # Missing, duplicate, or another client's statement of the same name on that connection.
    assert any("prepared statement" in error for error in errors), errors[:5]


@pytest.fixture
def server_through_pgbouncer(
    migrated_through_pgbouncer: subprocess.CompletedProcess[str], pgbouncer: PgBouncer
) -> Iterator[str]:
    """The app under uvicorn, as deployed behind a pooler; yields its base URL."""
    with live_server(
        DATABASE_URL=bouncer_url(pgbouncer),
        DATABASE_POOL_MAX="20",
        ENVIRONMENT="development",
        SIGNUP_ENABLED="true",
    ) as base:
        yield base


async def sign_up(client: httpx.AsyncClient, username: str) -> None:
    """Sign up through the form, as a browser would: the client keeps the session cookie."""
    page = await client.get("/signup")
    token = CSRF_FIELD.search(page.text)
    assert token, page.text
    password = "correct horse battery"
    form = {"username": username, "email": f"{username}@example.com", "password": password}
    response = await client.post(
        "/signup", data={**form, "confirm_password": password, "_csrf_token": token.group(1)}
    )
    assert response.status_code in {302, 303}, response.text


async def test_concurrent_http_requests_through_pgbouncer(server_through_pgbouncer: str) -> None:
    # Signed in, each page looks up the session and its user; /readyz asks the database too.
    paths = ["/account", "/readyz", "/"] * 70
    statuses: list[int] = []

    async with httpx.AsyncClient(base_url=server_through_pgbouncer, timeout=30) as client:
        await sign_up(client, "pooled")
        assert "pooled" in (await client.get("/account")).text

        async def fetch(path: str) -> None:
            statuses.append((await client.get(path)).status_code)

        async with anyio.create_task_group() as group:
            for path in paths:
                group.start_soon(fetch, path)

    assert statuses == [200] * len(paths)
