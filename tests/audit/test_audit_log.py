"""The audit log: what the accounts and Piccolo Admin write to it, that nothing changes an entry,
the retention job, and `piccolo project audit-export`."""

import datetime
import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.tables import Group
from bandstand.audit.log import MASK
from bandstand.audit.tables import AuditEntry
from bandstand.audit.tasks import prune
from bandstand.features import FRAMEWORK_FEATURES
from bandstand.testing.accounts import PASSWORD, People, csrf_token, log_in
from tests.support.admin import admin_write
from tests.support.cli import piccolo


async def entries(*actions: str) -> list[dict[str, Any]]:
    query = AuditEntry.select().order_by(AuditEntry.id)
    if actions:
        query = query.where(AuditEntry.action.is_in(list(actions)))
    return [{**row, "changes": json.loads(row["changes"])} for row in await query]


async def test_logins_failures_and_logouts_are_recorded_with_where_from(
    client: httpx.AsyncClient, people: People
) -> None:
    assert (await log_in(client, "plain", "wrong password")).status_code == 400
    assert (await log_in(client, "nobody", "wrong password")).status_code == 400
    done = await log_in(client, "plain")
    await client.post("/logout", data={"_csrf_token": await csrf_token(client, "/account")})

    recorded = await entries()

    assert [(row["action"], row["actor"], row["actor_id"]) for row in recorded] == [
        ("login.failed", "plain", people.plain),
        ("login.failed", "nobody", None),
        ("login", "plain", people.plain),
        ("logout", "plain", people.plain),
    ]
    login = recorded[2]
    assert login["source"] == "site"
    assert login["client"] == "127.0.0.1"
    assert login["user_agent"].startswith("python-httpx/")
    assert login["request_id"] == done.headers["x-request-id"]
    assert login["at"] <= datetime.datetime.now(datetime.UTC)


async def test_a_password_change_is_recorded_without_the_password(
    client: httpx.AsyncClient, people: People
) -> None:
    await log_in(client, "plain")
    new = "another long passphrase"
    await client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": new,
            "confirm_password": new,
            "_csrf_token": await csrf_token(client, "/account"),
        },
    )

    (change,) = await entries("password.change")
    assert change["actor_id"] == people.plain
    assert new not in json.dumps(change, default=str)


async def test_the_admins_writes_are_recorded_before_and_after(
    client: httpx.AsyncClient, people: People
) -> None:
    await log_in(client, "staff")
    await client.get("/admin/")

    made = await admin_write(client, "POST", "group/", {"name": "editors"})
    assert made.status_code == 201, made.text
    group = (await Group.select(Group.id).where(Group.name == "editors").first() or {})["id"]
    assert (await admin_write(client, "PATCH", f"group/{group}/", {"name": "reviewers"})).is_success
    assert (await admin_write(client, "DELETE", f"group/{group}/")).is_success
    refused = await admin_write(client, "PATCH", "group/999999/", {"name": "x"})

    recorded = await entries("create", "update", "delete")
    assert [(row["action"], row["target_table"], row["target_id"]) for row in recorded] == [
        ("create", "group", str(group)),
        ("update", "group", str(group)),
        ("delete", "group", str(group)),
    ]
    assert recorded[0]["changes"] == {"id": [None, group], "name": [None, "editors"]}
    assert recorded[1]["changes"] == {"name": ["editors", "reviewers"]}
    assert recorded[2]["changes"] == {"id": [group, None], "name": ["reviewers", None]}
    assert {row["actor"] for row in recorded} == {"staff"}
    assert {row["source"] for row in recorded} == {"admin"}
    assert refused.status_code >= 400  # no such row: nothing recorded for it


async def test_a_password_set_in_the_admin_is_masked(
    client: httpx.AsyncClient, people: People
) -> None:
    await log_in(client, "boss")
    await client.get("/admin/")
    new = "a brand new passphrase"

    answer = await admin_write(client, "PATCH", f"piccolo_user/{people.plain}/", {"password": new})

    assert answer.is_success, answer.text
    (update,) = await entries("update")
    assert update["changes"]["password"] == [MASK, MASK]
    assert new not in json.dumps(update, default=str)
    hashed = await BaseUser.select(BaseUser.password).where(BaseUser.id == people.plain).first()
    assert hashed is not None
    assert hashed["password"] not in json.dumps(update, default=str)


async def test_an_entry_cannot_be_changed_in_the_database_or_the_admin(
    client: httpx.AsyncClient, people: People
) -> None:
    await log_in(client, "boss")
    (login,) = await entries("login")

    with pytest.raises(Exception, match="audit entries cannot be changed"):
        await AuditEntry.update({AuditEntry.actor: "someone else"}).where(
            AuditEntry.id == login["id"]
        )

    await client.get("/admin/")
    listed = await client.get("/admin/api/tables/audit_entry/")
    assert listed.status_code == 200
    assert [row["action"] for row in listed.json()["rows"]] == ["login"]
    for method, path, body in [
        ("PATCH", f"audit_entry/{login['id']}/", {"actor": "someone else"}),
        ("PUT", f"audit_entry/{login['id']}/", {"actor": "someone else"}),
        ("DELETE", f"audit_entry/{login['id']}/", None),
        ("DELETE", "audit_entry/", None),
        ("POST", "audit_entry/", {"action": "login", "actor": "forged"}),
    ]:
        answer = await admin_write(client, method, path, body)
        assert answer.status_code == 405, (method, path, answer.status_code)
    assert [row["actor"] for row in await entries()] == ["boss"]


async def test_entries_older_than_the_retention_are_deleted_by_the_nightly_job(
    clean_tables: None,
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    for days in (400, 366, 364, 1):
        await AuditEntry.insert(
            AuditEntry(at=now - datetime.timedelta(days=days), action=f"old-{days}", actor="x")
        )

    assert await prune(365) == 2

    assert [row["action"] for row in await entries()] == ["old-364", "old-1"]
    jobs = {task.name: task for feature in FRAMEWORK_FEATURES for task in feature.tasks}
    assert jobs["bandstand.prune_audit_log"].cron is not None


async def test_audit_export_writes_json_lines_from_a_day_on(
    clean_tables: None, tmp_path: Path
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    for days, action in ((3, "before"), (0, "today")):
        await AuditEntry.insert(
            AuditEntry(at=now - datetime.timedelta(days=days), action=action, actor="x")
        )
    everything, recent = tmp_path / "all.jsonl", tmp_path / "recent.jsonl"

    assert (await piccolo("project", "audit-export", str(everything))).returncode == 0
    since = (now - datetime.timedelta(days=1)).date().isoformat()
    done = await piccolo("project", "audit-export", str(recent), f"--since={since}")
    assert done.returncode == 0, done.stderr

    lines = (await anyio.Path(everything).read_text()).splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["before", "today"]
    lines = (await anyio.Path(recent).read_text()).splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["today"]
    bad = await piccolo("project", "audit-export", "-", "--since=yesterday")
    assert bad.returncode == 1
    assert b"is not a day" in bad.stderr
