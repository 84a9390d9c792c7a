import re

import httpx
import pytest

from bandstand.testing.accounts import People, log_in


async def test_home_page_renders_the_layout(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Welcome to Bandstand</h1>" in response.text
    assert '<link rel="stylesheet" href="/static/css/site.css">' in response.text
    assert '<a href="/products">Products</a>' in response.text


async def test_static_files_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/css/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8123", "[::1]:80"])
async def test_allowed_hosts_match_whatever_the_port(client: httpx.AsyncClient, host: str) -> None:
    response = await client.get("/", headers={"host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example"])
async def test_unknown_host_is_refused(client: httpx.AsyncClient, host: str) -> None:
    # Not /healthz: the probes answer any Host (tests/core/test_production.py).
    response = await client.get("/", headers={"host": host})
    assert response.status_code == 400


async def test_every_asset_the_layout_names_is_served_locally(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)

    assert {"/static/vendor/htmx.min.js", "/static/vendor/pico.min.css"} <= set(assets)
    # No script or stylesheet from anywhere else: the pages work offline.
    assert all(url.startswith("/static/") for url in re.findall(r'src="([^"]+)"', page))
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset


async def test_the_staff_only_demo_is_listed_for_staff_alone(
    client: httpx.AsyncClient, people: People
) -> None:
    anonymous = (await client.get("/")).text
    await log_in(client, "plain")
    plain = (await client.get("/")).text
    await log_in(client, "staff")
    staff = (await client.get("/")).text

    for page in (anonymous, plain):
        assert 'href="/dashboard"' not in page
        assert "Registration with validation" in page  # a summary on the home page
    assert staff.count('href="/dashboard"') == 2  # the bar and the home page
