"""Writing an entry, with the request's client, user agent and id, and secrets masked."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from piccolo.apps.user.tables import BaseUser
from piccolo.table import Table

from bandstand.audit.tables import AuditEntry
from bandstand.request_ids import current_request_id

MASK = "********"
# Fields whose values are never written, whatever table they are in; a column marked
# `secret=True` is masked too.
SECRET_NAMES = frozenset({"password", "secret", "token", "recovery_codes", "api_key", "key"})
Changes = dict[str, list[Any]]


async def record(
    action: str,
    *,
    scope: Mapping[str, Any] | None = None,
    actor_id: int | None = None,
    actor: str = "",
    target: tuple[str, object] | None = None,
    changes: Changes | None = None,
    source: str = "site",
) -> None:
    """Append an entry. `scope` (a request's) gives the client, the user agent and the request
    id; `target` is (table name, primary key)."""
    if actor_id is not None and not actor:
        actor = await _username(actor_id)
    headers = dict(scope.get("headers", ())) if scope else {}
    client = scope.get("client") if scope else None
    table, row = target if target else ("", "")
    await AuditEntry.insert(
        AuditEntry(
            at=datetime.datetime.now(datetime.UTC),
            action=action,
            actor_id=actor_id,
            actor=_text(actor, 255),
            target_table=_text(table, 100),
            target_id=_text(str(row), 100),
            changes=json.dumps(changes or {}),
            client=_text(str(client[0]), 100) if client else "",
            user_agent=_text(headers.get(b"user-agent", b"").decode("latin-1"), 500),
            request_id=current_request_id() or "",
            source=source,
        )
    )


def _text(value: str, length: int) -> str:
    """What a column holds of `value`: cut to its length, without NUL (PostgreSQL refuses it in
    text; a login name typed by anyone can hold one)."""
    return value.replace("\0", "")[:length]


async def record_change(
    request: Any,
    action: str,
    table: type[Table],
    row_id: object,
    before: object = None,
    after: object = None,
) -> None:
    """A staff page's create, update or delete of a row, by the request's user: `before` and
    `after` are the row's values (a mapping or a struct), None for the side it has none."""
    await record_request(
        request,
        action,
        target=(table._meta.tablename, row_id),
        changes=changed(_values(before), _values(after), secret_fields(table)),
    )


async def record_request(
    request: Any,
    action: str,
    *,
    target: tuple[str, object] | None = None,
    changes: Changes | None = None,
) -> None:
    """What the request's (logged-in) user did."""
    user = request.user
    await record(
        action,
        scope=request.scope,
        actor_id=getattr(user, "id", None),
        actor=getattr(user, "username", ""),
        target=target,
        changes=changes,
    )


def _values(row: object) -> dict[str, Any]:
    values = _plain(row) if row is not None else {}
    return values if isinstance(values, dict) else {}


async def _username(user_id: int) -> str:
    row = await BaseUser.select(BaseUser.username).where(BaseUser.id == user_id).first()
    return "" if row is None else str(row["username"])


def secret_fields(table: type[Table]) -> frozenset[str]:
    return SECRET_NAMES | {
        column._meta.name for column in table._meta.columns if column._meta.secret
    }


def _plain(value: object) -> object:
    return msgspec.to_builtins(value, enc_hook=str)


def created(values: Mapping[str, Any], secret: Iterable[str] = SECRET_NAMES) -> Changes:
    return changed({}, values, secret)


def deleted(values: Mapping[str, Any], secret: Iterable[str] = SECRET_NAMES) -> Changes:
    return changed(values, {}, secret)


def changed(
    before: Mapping[str, Any], after: Mapping[str, Any], secret: Iterable[str] = SECRET_NAMES
) -> Changes:
    """{field: [before, after]} for each field whose value differs (None where a side has no
    value), secrets shown as MASK."""
    masked = set(secret)
    found: Changes = {}
    for name in sorted(before.keys() | after.keys()):
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old == new:
            continue
        if name in masked:
            old, new = (MASK if old is not None else None), (MASK if new is not None else None)
        found[name] = [old, new]
    return found
