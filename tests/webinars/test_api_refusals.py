"""/api/webinars/registrants refuses what it cannot store with a 400, never a 500, and its schema
states its refusals; found by fuzzing the API (tests/stress/test_fuzz.py)."""

import re

import httpx
import pytest

from bandstand.testing.accounts import csrf_token
from project.webinars.tables import Registrant
from tests.webinars.conftest import in_days


@pytest.fixture
async def api_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.headers["x-site-csrf"] = await csrf_token(client)
    return client


@pytest.mark.parametrize("field", ["name", "company", "notes"])
async def test_text_holding_nul_is_a_400(api_client: httpx.AsyncClient, field: str) -> None:
    body = {"name": "Radia Perlman", "email": "radia@example.com", "webinar_date": in_days(5)}
    response = await api_client.post(
        "/api/webinars/registrants", json=body | {field: "Radia\0Perlman"}
    )
    assert response.status_code == 400, response.text
    assert field in response.json()["detail"]
    assert await Registrant.count() == 0


@pytest.mark.parametrize("separator", ["\x1c", "\x1f", "\x85", "\u3000"])
async def test_the_schema_pattern_refuses_the_spaces_the_app_refuses(
    api_client: httpx.AsyncClient, separator: str
) -> None:
    # Python's \s has these, JSON Schema's (ECMA-262) \s lacks some: the schema's pattern spells
    # the spaces out rather than use \s or \S, which the two kinds of regex read differently.
    schema = (await api_client.get("/schema/openapi.json")).json()
    pattern = schema["components"]["schemas"]["RegistrationIn"]["properties"]["email"]["pattern"]
    assert not re.search(r"(?<!\\)\\[sS]", pattern), pattern
    email = f"radia{separator}@example.com"
    assert re.search(pattern, email) is None
    body = {"name": "Radia", "email": email, "webinar_date": in_days(5)}
    assert (await api_client.post("/api/webinars/registrants", json=body)).status_code == 400


async def test_the_schema_states_the_refusals(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    operations = paths["/api/webinars/registrants"]
    assert set(operations["post"]["responses"]) == {"201", "400", "403", "409"}
    assert set(operations["get"]["responses"]) == {"200", "400", "401", "403"}
