import httpx
import pytest


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
    response = await client.get("/healthz", headers={"host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example"])
async def test_unknown_host_is_refused(client: httpx.AsyncClient, host: str) -> None:
    response = await client.get("/healthz", headers={"host": host})
    assert response.status_code == 400
