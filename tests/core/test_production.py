"""Production mode's headers and host checks, on the app as `ENVIRONMENT=production` builds it."""

from collections.abc import AsyncIterator

import httpx
import pytest

from bandstand.testing.apps import build_app, client_for
from tests.support.security_headers import (
    MOUNT_POLICY,
    SITE_POLICY,
    check_security_headers,
)

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
    check_security_headers(response.headers, SITE_POLICY, hsts=True)


async def test_development_sends_no_hsts(development: httpx.AsyncClient) -> None:
    # HSTS on http://localhost would make the browser refuse the development server later.
    response = await development.get("/")
    assert response.status_code == 200
    check_security_headers(response.headers, SITE_POLICY, hsts=False)


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
    check_security_headers(response.headers, SITE_POLICY, hsts=True)


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
    check_security_headers(response.headers, SITE_POLICY, hsts=True)
    assert response.headers["x-request-id"]


async def test_the_admin_gets_the_headers_but_a_policy_of_its_own(
    production: httpx.AsyncClient,
) -> None:
    # Piccolo Admin's single-page app would break under the site's CSP: only framing is
    # forbidden there.
    response = await production.get("/admin/", headers={"accept": "text/html"})
    assert response.status_code == 200
    check_security_headers(response.headers, MOUNT_POLICY, hsts=True)
