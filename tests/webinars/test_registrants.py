"""The staff list of registrants: search, pages, htmx partials, and who may see it."""

import datetime
import re

import httpx
import pytest

from bandstand.testing.accounts import People, log_in
from project.webinars import routes
from project.webinars.tables import Registrant

NAMES = re.compile(r'<a href="/webinars/registrants/\d+">([^<]+)</a>')


@pytest.fixture
async def registrants(clean_tables: None) -> None:
    base = datetime.datetime(2026, 11, 1, 9, tzinfo=datetime.UTC)
    people = [
        ("Ada Lovelace", "ada@example.com", "Analytical Engines"),
        ("Alan Turing", "alan@example.com", "Bletchley"),
        ("Grace Hopper", "grace@navy.example", "US Navy"),
        ("Katherine Johnson", "kj@nasa.example", "NASA 100%"),
    ]
    for hours, (name, email, company) in enumerate(people):
        await Registrant.insert(
            Registrant(
                name=name,
                email=email,
                company=company,
                webinar_date=datetime.date(2026, 12, 1),
                registered_at=base + datetime.timedelta(hours=hours),
            )
        )


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("", ["Katherine Johnson", "Grace Hopper", "Alan Turing", "Ada Lovelace"]),
        ("ADA", ["Ada Lovelace"]),
        ("example.com", ["Alan Turing", "Ada Lovelace"]),
        ("navy", ["Grace Hopper"]),
        ("100%", ["Katherine Johnson"]),
        ("nobody", []),
    ],
)
async def test_staff_search_registrants(
    client: httpx.AsyncClient, registrants: None, people: People, q: str, expected: list[str]
) -> None:
    await log_in(client, "staff")

    response = await client.get("/webinars/registrants", params={"q": q})
    partial = await client.get(
        "/webinars/registrants", params={"q": q}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert NAMES.findall(response.text) == expected
    assert NAMES.findall(partial.text) == expected
    assert "<html" not in partial.text


async def test_registrants_are_paged(
    client: httpx.AsyncClient,
    registrants: None,
    people: People,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routes, "PAGE_SIZE", 3)
    await log_in(client, "staff")

    first = await client.get("/webinars/registrants")
    second = await client.get("/webinars/registrants", params={"page": 2})

    assert NAMES.findall(first.text) == ["Katherine Johnson", "Grace Hopper", "Alan Turing"]
    assert NAMES.findall(second.text) == ["Ada Lovelace"]
    assert "Page 2 of 2" in second.text


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("plain", 403)])
async def test_only_staff_see_registrants(
    client: httpx.AsyncClient, registrants: None, people: People, who: str, status: int
) -> None:
    if who != "anonymous":
        await log_in(client, who)
    registrant = await Registrant.select(Registrant.id).first()
    assert registrant is not None

    for url in ("/webinars/registrants", f"/webinars/registrants/{registrant['id']}"):
        response = await client.get(url)
        assert response.status_code == status
        assert "ada@example.com" not in response.text


async def test_a_missing_registrant_is_404(client: httpx.AsyncClient, people: People) -> None:
    await log_in(client, "staff")
    assert (await client.get("/webinars/registrants/999999")).status_code == 404
