"""/api/webinars/registrants: JSON registration for anyone, the list for staff only."""

import httpx
import pytest

from bandstand.testing.accounts import People, csrf_token, log_in_for_api
from project.webinars.tables import Registrant
from tests.webinars.conftest import in_days


@pytest.fixture
async def api_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.headers["x-site-csrf"] = await csrf_token(client)
    return client


def registration(**changes: object) -> dict[str, object]:
    return {
        "name": "Radia Perlman",
        "email": "Radia@Example.com",
        "webinar_date": in_days(5),
    } | changes


async def test_register_by_json(api_client: httpx.AsyncClient) -> None:
    response = await api_client.post("/api/webinars/registrants", json=registration())

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["email"], body["webinar_date"], body["has_photo"]) == (
        "Radia Perlman",
        "radia@example.com",
        in_days(5),
        False,
    )
    assert await Registrant.exists().where(Registrant.id == body["id"])


async def test_a_second_registration_is_a_409(api_client: httpx.AsyncClient) -> None:
    await api_client.post("/api/webinars/registrants", json=registration())

    again = await api_client.post(
        "/api/webinars/registrants", json=registration(email="radia@example.com")
    )

    assert again.status_code == 409
    assert again.json()["detail"] == "This e-mail address is already registered."
    assert await Registrant.count() == 1


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"email": "nope"}, "email"),
        ({"webinar_date": in_days(-2)}, "webinar_date: Choose a date that is not in the past."),
        ({"name": " "}, "name"),
        ({"photo": "../../etc/passwd"}, "photo"),
    ],
)
async def test_invalid_registrations_are_400(
    api_client: httpx.AsyncClient, changes: dict[str, object], detail: str
) -> None:
    response = await api_client.post("/api/webinars/registrants", json=registration(**changes))

    assert response.status_code == 400
    assert detail in str(response.json())
    assert await Registrant.count() == 0


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("plain", 403), ("staff", 200)])
async def test_the_list_is_for_staff(
    api_client: httpx.AsyncClient, people: People, who: str, status: int
) -> None:
    await api_client.post("/api/webinars/registrants", json=registration())
    if who != "anonymous":
        await log_in_for_api(api_client, who)

    response = await api_client.get("/api/webinars/registrants", params={"q": "perlman"})

    assert response.status_code == status
    if status == 200:
        assert [item["email"] for item in response.json()["items"]] == ["radia@example.com"]
