"""Production mode's headers and host checks, on the app as `ENVIRONMENT=production` builds it."""

from collections.abc import AsyncIterator

import httpx
import pytest

from bandstand.headers import (
    MOUNT_CONTENT_SECURITY_POLICY,
    SECURITY_HEADERS,
    STRICT_TRANSPORT_SECURITY,
)
from bandstand.testing.apps import build_app, client_for

STRONG_KEY = "k" * 48


@pytest.fixture
async def production(clean_tables: None) -> AsyncIterator[httpx.AsyncClient]:
    app = await build_app(
        environment="production", secret_key=STRONG_KEY, allowed_hosts=("bandstand.example",)
    )
    async with client_for(app, base_url="https://bandstand.example") as client:
        yield client


@pytest.fixture
async def development(clean_tables: None) -> AsyncIterator[httpx.AsyncClient]:
    app = await build_app(environment="development")
    async with client_for(app) as client:
        yield client


@pytest.mark.parametrize("path", ["/", "/login", "/healthz", "/readyz"])
async def test_production_pages_carry_hsts_and_the_security_headers(
    production: httpx.AsyncClient, path: str
) -> None:
    response = await production.get(path, headers={"accept": "text/html"})
    assert response.status_code == 200, response.text
    assert response.headers["strict-transport-security"] == STRICT_TRANSPORT_SECURITY
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_development_sends_no_hsts(development: httpx.AsyncClient) -> None:
    # HSTS on http://localhost would make the browser refuse the development server later.
    response = await development.get("/")
    assert response.status_code == 200
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_production_refuses_a_host_not_in_allowed_hosts(
    production: httpx.AsyncClient,
) -> None:
    response = await production.get("/", headers={"host": "attacker.example"})
    assert response.status_code == 400
    assert (await production.get("/", headers={"host": "bandstand.example:443"})).status_code == 200


async def test_a_refused_host_is_refused_on_every_path_with_the_headers(
    production: httpx.AsyncClient,
) -> None:
    # A path no route matches too: the check runs before Litestar's routing.
    response = await production.get("/no/such/page", headers={"host": "attacker.example"})
    assert response.status_code == 400
    assert "no host this site serves" in response.json()["detail"]
    assert response.headers["x-request-id"]
    assert response.headers["strict-transport-security"] == STRICT_TRANSPORT_SECURITY


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_answer_a_platform_calling_by_private_address(
    production: httpx.AsyncClient, path: str
) -> None:
    # Fly, Render and Kubernetes probe an instance as http://10.x.y.z:PORT/.
    response = await production.get(path, headers={"host": "10.0.3.7:8080"})
    assert response.status_code == 200, response.text
    # Only the probes: the same Host is refused anywhere else.
    assert (await production.get("/login", headers={"host": "10.0.3.7:8080"})).status_code == 400


async def test_a_path_no_route_matches_carries_the_headers(production: httpx.AsyncClient) -> None:
    # Litestar answers it before its middleware list runs.
    response = await production.get("/no/such/page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["strict-transport-security"] == STRICT_TRANSPORT_SECURITY
    assert (
        response.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
    )
    assert response.headers["x-request-id"]


async def test_the_admin_gets_the_headers_but_a_policy_of_its_own(
    production: httpx.AsyncClient,
) -> None:
    # Piccolo Admin's single-page app would break under the site's CSP: only framing is
    # forbidden there.
    response = await production.get("/admin/", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == MOUNT_CONTENT_SECURITY_POLICY
    assert response.headers["strict-transport-security"] == STRICT_TRANSPORT_SECURITY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
