"""Piccolo Admin at /admin: one login with the site, its own login, and the mount's edges."""

import subprocess
import sys
from typing import Any, cast

import anyio
import httpx
import pytest
from piccolo_api.session_auth.tables import SessionsBase

import bandstand.admin
from bandstand.accounts.tables import Group
from bandstand.settings import get_settings
from bandstand.testing.accounts import PASSWORD, People, csrf_token, log_in
from bandstand.testing.apps import build_app, client_for, project_app
from tests.support import PROJECT_ROOT


async def admin_login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    await client.get("/admin/")  # sets the admin's own CSRF cookie
    return await client.post(
        "/admin/public/login/",
        json={"username": username, "password": password},
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
    )


async def test_site_login_opens_the_admin_and_lists_rows(
    client: httpx.AsyncClient, people: People
) -> None:
    await Group.insert(Group(name="editors"))
    await log_in(client, "staff")

    response = await client.get("/admin/api/tables/group/", params={"__page_size": 50})

    assert response.status_code == 200
    names = {row["name"] for row in response.json()["rows"]}
    assert "editors" in names


async def test_the_admins_own_login_works_and_the_site_sees_it(
    client: httpx.AsyncClient, people: People
) -> None:
    response = await admin_login(client, "staff")
    assert response.status_code == 200, response.text
    assert (await client.get("/admin/api/tables/group/")).status_code == 200
    assert (await client.get("/account")).status_code == 200


async def test_the_admins_login_uses_up_the_sites_login_allowance(
    client: httpx.AsyncClient, people: People
) -> None:
    # Counted in the database, not in Piccolo Admin's per-process limiter: every instance
    # behind a load balancer sees the same failures.
    limit = get_settings().login_failures_per_account
    codes = [
        (await admin_login(client, "staff", "wrong-password")).status_code for _ in range(limit)
    ]
    assert codes == [401] * limit

    blocked = await admin_login(client, "staff")  # even with the right password
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.text
    assert (await log_in(client, "staff")).status_code == 429  # and on the site's login
    assert (await admin_login(client, "plain")).status_code == 200  # another account is not


async def test_a_site_login_failure_counts_for_the_admins_login(
    client: httpx.AsyncClient, people: People
) -> None:
    limit = get_settings().login_failures_per_account
    for _ in range(limit):
        assert (await log_in(client, "staff", "wrong-password")).status_code == 400
    assert (await admin_login(client, "staff")).status_code == 429


async def test_non_staff_cannot_use_the_admin_after_its_login(
    client: httpx.AsyncClient, people: People
) -> None:
    # The admin's login is the site's login (any active user); its API is for staff only.
    assert (await admin_login(client, "plain")).status_code == 200
    assert (await client.get("/admin/api/tables/")).status_code == 401


async def test_staff_edit_a_row_through_the_admin(
    client: httpx.AsyncClient, people: People
) -> None:
    group = (await Group.insert(Group(name="editors")))[0]["id"]
    await admin_login(client, "staff")

    response = await client.patch(
        f"/admin/api/tables/group/{group}/",
        json={"name": "reviewers"},
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
    )

    assert response.status_code == 200, response.text
    renamed = await Group.select(Group.name).where(Group.id == group).first()
    assert renamed == {"name": "reviewers"}


async def test_logging_out_of_the_site_logs_out_of_the_admin(
    client: httpx.AsyncClient, people: People
) -> None:
    await log_in(client, "staff")
    assert (await client.get("/admin/api/tables/")).status_code == 200
    await client.post("/logout", data={"_csrf_token": await csrf_token(client, "/account")})
    assert (await client.get("/admin/api/tables/")).status_code == 401


async def test_logging_out_of_the_admin_logs_out_of_the_site(
    client: httpx.AsyncClient, people: People
) -> None:
    await admin_login(client, "staff")
    response = await client.post(
        "/admin/public/logout/", headers={"X-CSRFToken": client.cookies["csrftoken"]}
    )
    assert response.status_code in {200, 303}, response.text
    assert await SessionsBase.count() == 0
    assert (await client.get("/account", headers={"accept": "application/json"})).status_code == 401


async def test_admin_without_slash_redirects(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin")
    assert response.status_code == 307
    assert response.headers["location"] == "/admin/"
    page = await client.get("/admin/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


@pytest.mark.parametrize("prefix", ["", "/bandstand"])
async def test_admin_works_behind_a_proxy_prefix(
    client: httpx.AsyncClient, people: People, prefix: str
) -> None:
    """As under `uvicorn --root-path /bandstand` behind a proxy that strips nothing."""
    transport = httpx.ASGITransport(app=cast(Any, project_app()), root_path=prefix)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://localhost{prefix}"
    ) as proxied:
        assert (await proxied.get("/admin")).headers["location"] == f"{prefix}/admin/"
        assert (await proxied.get("/admin/public/meta/")).status_code == 200
        await log_in(proxied, "staff")
        assert (await proxied.get("/admin/api/tables/")).status_code == 200


def test_the_app_starts_without_importing_piccolo_admin() -> None:
    # Piccolo Admin and FastAPI were a third of a new instance's time to its first answer.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, main; print(sorted({'piccolo_admin', 'fastapi'} & set(sys.modules)))",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


async def test_concurrent_first_requests_build_the_admin_once(
    monkeypatch: pytest.MonkeyPatch, clean_tables: None
) -> None:
    built: list[object] = []

    def counting_build(*args: Any) -> Any:
        built.append(args)
        return real_build(*args)

    real_build = bandstand.admin.build_admin
    monkeypatch.setattr(bandstand.admin, "build_admin", counting_build)
    async with client_for(await build_app()) as client:
        assert built == []
        statuses: list[int] = []

        async def get() -> None:
            statuses.append((await client.get("/admin/")).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(get)
        await get()

    assert len(built) == 1
    assert statuses == [200] * 6


async def test_the_admins_html_login_renders_without_blocking_the_event_loop(
    client: httpx.AsyncClient,
) -> None:
    # Rendered on the event loop from templates on disk; blockbuster fails a blocking read.
    for _ in range(2):
        page = await client.get("/admin/public/login/")
        assert page.status_code == 200
        assert "<form" in page.text
