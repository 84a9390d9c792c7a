import httpx


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


async def test_unknown_host_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"host": "evil.example"})
    assert response.status_code == 400
