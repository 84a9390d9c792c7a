"""The public registration form: CSRF, validation, one registration per e-mail address."""

import httpx
import pytest

from bandstand.testing.accounts import csrf_token
from project.webinars.tables import Registrant
from tests.webinars.conftest import in_days


async def register(client: httpx.AsyncClient, **changes: str) -> httpx.Response:
    fields = {
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "company": "Navy",
        "webinar_date": in_days(3),
        "notes": "<b>bold</b> question",
        "_csrf_token": await csrf_token(client, "/webinars"),
    }
    return await client.post("/webinars", data={**fields, **changes})


async def test_register_and_see_the_thanks(client: httpx.AsyncClient) -> None:
    response = await register(client)

    assert response.status_code == 303
    registrant = await Registrant.objects().get(Registrant.email == "grace@example.com")
    assert registrant is not None
    assert (registrant.name, registrant.company, str(registrant.webinar_date)) == (
        "Grace Hopper",
        "Navy",
        in_days(3),
    )
    page = await client.get("/webinars")
    assert "Thank you, Grace Hopper: you are registered for" in page.text


async def test_the_same_email_twice_is_refused_clearly(client: httpx.AsyncClient) -> None:
    await register(client)

    again = await register(client, name="Someone else", email="  GRACE@example.com ")

    assert again.status_code == 400
    assert "This e-mail address is already registered." in again.text
    assert 'value="Someone else"' in again.text  # nothing typed is lost
    assert await Registrant.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"email": "not-an-address"}, "email", "Enter a valid value."),
        ({"email": "a@b"}, "email", "Enter a valid value."),
        ({"webinar_date": "next tuesday"}, "webinar_date", "Enter a date as YYYY-MM-DD."),
        ({"webinar_date": in_days(-1)}, "webinar_date", "Choose a date that is not in the past."),
        ({"notes": "x" * 2001}, "notes", "Use at most 2000 characters."),
    ],
)
async def test_invalid_registrations_are_explained(
    client: httpx.AsyncClient, changes: dict[str, str], field: str, message: str
) -> None:
    response = await register(client, **changes)

    assert response.status_code == 400
    assert f'<small id="{field}-error" class="error">{message}</small>' in response.text
    assert await Registrant.count() == 0


async def test_registration_needs_the_csrf_token(client: httpx.AsyncClient) -> None:
    response = await register(client, _csrf_token="forged")

    assert response.status_code == 403
    assert await Registrant.count() == 0


async def test_user_text_is_escaped_on_the_page(client: httpx.AsyncClient) -> None:
    response = await register(client, name="<script>alert(1)</script>", email="x")

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>alert(1)" not in response.text
