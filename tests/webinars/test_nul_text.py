"""Registration text with NUL, which PostgreSQL cannot store (SQLite can): refused with a
message on the form and in the API alike, never a 500; a search with it finds nothing."""

import httpx
import pytest

from bandstand.testing.accounts import People, csrf_token, log_in
from project.webinars.tables import Registrant
from tests.webinars.conftest import in_days


@pytest.mark.parametrize("field", ["name", "company", "notes", "email"])
async def test_a_registration_with_nul_is_refused(client: httpx.AsyncClient, field: str) -> None:
    registration = {"name": "Ada", "email": "ada@example.com", "webinar_date": in_days(3)}
    registration[field] = "ada\0@example.com" if field == "email" else "A\0da"
    token = await csrf_token(client, "/webinars")

    form = await client.post("/webinars", data={**registration, "_csrf_token": token})
    api = await client.post(
        "/api/webinars/registrants", json=registration, headers={"x-site-csrf": token}
    )

    assert form.status_code == 400
    assert f'id="{field}-error"' in form.text
    assert api.status_code == 400
    assert "NUL" in api.json()["detail"]
    assert await Registrant.count() == 0


async def test_a_registrant_search_with_nul_finds_nothing(
    client: httpx.AsyncClient, people: People, registrant: int
) -> None:
    await log_in(client, "staff")
    page = await client.get("/webinars/registrants", params={"q": "Ada\0"})
    api = await client.get("/api/webinars/registrants", params={"q": "\0"})
    assert page.status_code == 200
    assert "0 registrants" in page.text
    assert api.status_code == 200
    assert api.json()["total"] == 0
