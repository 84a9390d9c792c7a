"""Users of each kind, and logging in as a browser or an API client would."""

from __future__ import annotations

import re

import httpx
import msgspec
import pytest

from bandstand.accounts.tables import Group, Membership
from bandstand.accounts.users import create_user
from bandstand.testing.database import one_connection

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
# The group `people.member` belongs to.
MEMBERS_GROUP = "team"


class People(msgspec.Struct):
    plain: int
    staff: int
    superuser: int
    member: int
    inactive: int


@pytest.fixture
async def people(clean_tables: None) -> People:
    """One user of each kind, all with the password PASSWORD."""
    from piccolo.apps.user.tables import BaseUser

    async with one_connection():
        ids = People(
            plain=await create_user("plain", "plain@example.com", PASSWORD),
            staff=await create_user("staff", "staff@example.com", PASSWORD, admin=True),
            superuser=await create_user(
                "boss", "boss@example.com", PASSWORD, admin=True, superuser=True
            ),
            member=await create_user("member", "member@example.com", PASSWORD),
            inactive=await create_user("gone", "gone@example.com", PASSWORD),
        )
        await BaseUser.update({BaseUser.active: False}).where(BaseUser.id == ids.inactive)
        team = (await Group.insert(Group(name=MEMBERS_GROUP)))[0]["id"]
        await Membership.insert(Membership(user=ids.member, group=team))
    return ids


async def csrf_token(client: httpx.AsyncClient, page: str = "/login") -> str:
    """The token a browser would submit: from the form the page renders."""
    response = await client.get(page)
    found = CSRF_FIELD.search(response.text)
    assert found, response.text
    return found.group(1)


async def log_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, next: str = ""
) -> httpx.Response:
    """Log in through the login form, as a browser would."""
    token = await csrf_token(client)
    return await client.post(
        "/login",
        data={"username": username, "password": password, "next": next, "_csrf_token": token},
    )


async def log_in_for_api(client: httpx.AsyncClient, username: str) -> None:
    """Log in and set the CSRF header, as a script calling the JSON API would."""
    await log_in(client, username)
    client.headers["x-site-csrf"] = await csrf_token(client, "/account")
