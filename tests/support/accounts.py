"""Users of each kind, a browser-like login helper, and a live site set up as the README says."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import msgspec
import pytest

from project.accounts.tables import Group, Membership
from project.accounts.users import create_user
from tests.conftest import run_piccolo
from tests.support.live_server import live_server

PASSWORD = "correct horse battery"
SITE_PASSWORD = "site-superuser-secret"
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


class People(msgspec.Struct):
    plain: int
    staff: int
    superuser: int
    member: int
    inactive: int


@pytest.fixture
async def people(clean_tables: None) -> People:
    ids = People(
        plain=await create_user("plain", "plain@example.com", PASSWORD),
        staff=await create_user("staff", "staff@example.com", PASSWORD, admin=True),
        superuser=await create_user(
            "boss", "boss@example.com", PASSWORD, admin=True, superuser=True
        ),
        member=await create_user("member", "member@example.com", PASSWORD),
        inactive=await create_user("gone", "gone@example.com", PASSWORD),
    )
    from piccolo.apps.user.tables import BaseUser

    await BaseUser.update({BaseUser.active: False}).where(BaseUser.id == ids.inactive)
    team = (await Group.insert(Group(name="team")))[0]["id"]
    await Membership.insert(Membership(user=ids.member, group=team))
    return ids


async def csrf_token(client: httpx.AsyncClient, page: str = "/login") -> str:
    """The token a browser would submit: from the form the page renders."""
    response = await client.get(page)
    found = CSRF_FIELD.search(response.text)
    assert found, response.text
    return found.group(1)


async def log_in_for_api(client: httpx.AsyncClient, username: str) -> None:
    """Log in and set the CSRF header, as a script calling the JSON API would."""
    await log_in(client, username)
    client.headers["x-site-csrf"] = await csrf_token(client, "/account")


async def log_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, next: str = ""
) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post(
        "/login",
        data={"username": username, "password": password, "next": next, "_csrf_token": token},
    )


def prepare_site_database(database_url: str) -> None:
    """Set a fresh database up as the README says: migrations, demo data and
    `piccolo project superuser` (user "admin", password SITE_PASSWORD)."""
    superuser = {"SUPERUSER_USERNAME": "admin", "SUPERUSER_PASSWORD": SITE_PASSWORD}
    for command in (
        ("migrations", "forwards", "all"),
        ("project", "demo"),
        ("project", "superuser"),
    ):
        result = run_piccolo(*command, database_url=database_url, **superuser)
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
    with live_server(DATABASE_URL=fresh_database_url) as base:
        yield base
