"""The catalog's staff pages and staff API write what they change to the audit log."""

import json

import httpx

from bandstand.audit.tables import AuditEntry
from bandstand.testing.accounts import People, csrf_token, log_in_for_api
from project.catalog.tables import Category


async def changes() -> list[tuple[str, str, dict[str, list[object]]]]:
    rows = (
        await AuditEntry.select()
        .where(AuditEntry.target_table == "product")
        .order_by(AuditEntry.id)
    )
    return [(row["action"], row["actor"], json.loads(row["changes"])) for row in rows]


async def test_the_apis_writes_are_recorded(client: httpx.AsyncClient, people: People) -> None:
    category = (await Category.insert(Category(name="Tools", slug="tools")))[0]["id"]
    await log_in_for_api(client, "staff")
    body = {"name": "Saw", "description": "", "price": "9.50", "stock": 3, "category_id": category}

    made = await client.post("/api/products", json=body)
    assert made.status_code == 201, made.text
    product = made.json()["id"]
    replaced = await client.put(f"/api/products/{product}", json={**body, "stock": 4})
    assert replaced.status_code == 200, replaced.text
    assert (await client.delete(f"/api/products/{product}")).status_code == 204

    recorded = await changes()
    assert [(action, actor) for action, actor, _ in recorded] == [
        ("create", "staff"),
        ("update", "staff"),
        ("delete", "staff"),
    ]
    assert recorded[0][2]["name"] == [None, "Saw"]
    assert recorded[1][2] == {"stock": [3, 4]}
    assert recorded[2][2]["name"] == ["Saw", None]


async def test_the_staff_pages_delete_is_recorded(
    client: httpx.AsyncClient, people: People
) -> None:
    category = (await Category.insert(Category(name="Tools", slug="tools")))[0]["id"]
    await log_in_for_api(client, "staff")
    body = {"name": "Saw", "description": "", "price": "9.50", "stock": 3, "category_id": category}
    product = (await client.post("/api/products", json=body)).json()["id"]

    token = await csrf_token(client, f"/products/{product}")
    deleted = await client.post(f"/products/{product}/delete", data={"_csrf_token": token})

    assert deleted.status_code == 303
    assert [action for action, _, _ in await changes()] == ["create", "delete"]
