"""A live site set up as the README says, and logging in to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bandstand.testing.accounts import CSRF_FIELD
from bandstand.testing.database import run_piccolo
from tests.support.live_server import live_server

SITE_PASSWORD = "site-superuser-secret"


def prepare_site_database(database_url: str) -> None:
    """Set a fresh database up as the README says, with `piccolo project setup`: migrations,
    demo data and a superuser (user "admin", password SITE_PASSWORD), in one process."""
    result = run_piccolo(
        "project",
        "setup",
        database_url=database_url,
        SUPERUSER_USERNAME="admin",
        SUPERUSER_PASSWORD=SITE_PASSWORD,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def site_login(client: httpx.Client) -> None:
    """Log a synchronous client in to a live site as "admin", with the CSRF header set."""
    token = CSRF_FIELD.search(client.get("/login").text)
    assert token
    response = client.post(
        "/login",
        data={"username": "admin", "password": SITE_PASSWORD, "_csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text
    client.headers["x-site-csrf"] = token.group(1)


@pytest.fixture
def site(fresh_database_url: str) -> Iterator[str]:
    """A real server on a fresh database set up as the README says; yields its base URL."""
    prepare_site_database(fresh_database_url)
    # Its jobs run in its own process, as under `make run`.
    with live_server(DATABASE_URL=fresh_database_url, JOBS_IN_PROCESS="true") as base:
        yield base
