"""Behind a TLS-terminating proxy on loopback: uvicorn trusts its X-Forwarded-* headers, so
the admin sees https (and checks Origin) and the login throttle sees each real client."""

import httpx
import pytest

from bandstand.settings import get_settings
from tests.support.accounts import SITE_PASSWORD

# What is checked is uvicorn's and the app's reading of the proxy's headers, the same on either
# database; the login throttle's counting is tested on both (test_security.py).
pytestmark = pytest.mark.engine_independent


def via_proxy(client_address: str = "203.0.113.7") -> dict[str, str]:
    return {"x-forwarded-proto": "https", "x-forwarded-for": client_address}


def admin_login(site: str, origin: str) -> httpx.Response:
    with httpx.Client(base_url=site, headers={**via_proxy(), "origin": origin}) as client:
        client.get("/admin/")
        return client.post(
            "/admin/public/login/",
            json={"username": "admin", "password": SITE_PASSWORD},
            headers={"X-CSRFToken": client.cookies["csrftoken"]},
        )


def test_admin_login_over_forwarded_https(site: str) -> None:
    response = admin_login(site, origin="https://localhost")
    assert response.status_code == 200, response.text
    assert "Secure" not in response.headers["set-cookie"]  # development mode


def test_admin_refuses_a_foreign_origin_over_https(site: str) -> None:
    response = admin_login(site, origin="https://evil.example")
    assert response.status_code == 403
    assert "Referer or origin is incorrect" in response.text


@pytest.mark.timeout(60)
def test_login_throttle_counts_the_forwarded_client(site: str) -> None:
    limit = get_settings().login_failures_per_client

    def attempt(client_address: str, username: str) -> int:
        with httpx.Client(base_url=site, headers=via_proxy(client_address)) as client:
            token = client.get("/login").text.split('name="_csrf_token" value="')[1].split('"')[0]
            return client.post(
                "/login", data={"username": username, "password": "guess", "_csrf_token": token}
            ).status_code

    assert [attempt("198.51.100.1", f"user{n}") for n in range(limit)] == [400] * limit
    assert attempt("198.51.100.1", "another") == 429
    assert attempt("198.51.100.2", "another") == 400  # a different client is not blocked
