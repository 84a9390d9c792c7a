"""Who gets in where: anonymous, plain user, group member, staff and superuser."""

import httpx
import pytest

from bandstand.testing.accounts import People, log_in

HTML = {"accept": "text/html"}
JSON = {"accept": "application/json"}


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("plain", 401), ("member", 401), ("staff", 200), ("boss", 200)],
)
async def test_admin_api_is_for_staff_only(
    client: httpx.AsyncClient, people: People, who: str | None, status: int
) -> None:
    if who:
        await log_in(client, who)
    response = await client.get("/admin/api/tables/")
    assert response.status_code == status
    if status == 200:
        assert {"piccolo_user", "group", "membership", "login_throttle"} <= set(response.json())


@pytest.mark.parametrize(
    ("who", "status"),
    [("plain", 403), ("staff", 403), ("member", 200), ("boss", 200)],
)
async def test_group_guarded_page(
    client: httpx.AsyncClient, people: People, who: str, status: int
) -> None:
    await log_in(client, who)
    assert (await client.get("/team", headers=HTML)).status_code == status


async def test_group_guarded_page_refuses_anonymous(
    client: httpx.AsyncClient, people: People
) -> None:
    browser = await client.get("/team", headers=HTML)
    assert browser.status_code == 303
    assert browser.headers["location"] == "/login?next=%2Fteam"
    api = await client.get("/team", headers=JSON)
    assert api.status_code == 401


async def test_forbidden_api_client_gets_403_json(
    client: httpx.AsyncClient, people: People
) -> None:
    await log_in(client, "plain")
    response = await client.get("/team", headers=JSON)
    assert response.status_code == 403
    assert response.json()["detail"] == "Members of the group 'team' only."


async def test_admin_pages_link_only_for_staff(client: httpx.AsyncClient, people: People) -> None:
    await log_in(client, "plain")
    assert 'href="/admin/"' not in (await client.get("/")).text
    await log_in(client, "staff")
    assert 'href="/admin/"' in (await client.get("/")).text
