"""Piccolo Admin's table API, with a malformed query refused and a refused write logged in one
line.

piccolo_api 1.11 answers most malformed queries with a 400 (it raises `ParamException` or
`MalformedQuery`, which its endpoints turn into one), but not two:

- `?__order=` naming no column: `_get_column` raises ValueError, which `_split_params` lets
  through where it wraps the same error for `__visible_fields`;
- a filter value its filter model refuses (a name given twice, a value longer than the column):
  `_apply_filters` lets pydantic's ValidationError through.

Each was a 500 with two tracebacks in the log. So was, on PostgreSQL, text holding NUL in a
filter, a search or a row written: PostgreSQL cannot store it, and the driver's error escaped.
Here NUL is refused (400) on both databases, as the site's own forms refuse it, so both keep the
same rows.

And a write the database refuses (a duplicate name, a row still referenced) is answered 422
with the reason, as it should be, but logged at ERROR with a traceback: a person's typo in the
admin, reported as a failure of the site.

Every write that succeeds is written to the audit log (`bandstand.audit`): who, the row, and
its fields before and after. (The admin deletes rows one by one: piccolo_api's bulk delete is
not routed.) The logs' own tables (the audit log, the AI call log) are read-only here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pydantic
from piccolo.table import Table
from piccolo_api.crud.endpoints import ParamException, Params, PiccoloCRUD
from piccolo_api.crud.exceptions import MalformedQuery
from starlette.requests import Request
from starlette.responses import Response

from bandstand.ai.tables import AiCall
from bandstand.audit.log import Changes, changed, created, deleted, record, secret_fields
from bandstand.audit.tables import AuditEntry
from bandstand.forms import NO_NUL

LOGS: tuple[type[Table], ...] = (AuditEntry, AiCall)
# Where piccolo_api logs the database errors it answers with a 422.
CONSTRAINT_LOGGER = "piccolo_api.crud.exceptions"


class AdminCRUD(PiccoloCRUD):
    def __init__(self, table: type[Table], *args: Any, **kwargs: Any) -> None:
        if table in LOGS:
            kwargs["read_only"] = True
        super().__init__(table, *args, **kwargs)

    def _split_params(self, params: dict[str, Any]) -> Params:
        try:
            return super()._split_params(params)
        except ValueError as error:  # a column name that names no column
            raise ParamException(str(error)) from error

    def _apply_filters(self, query: Any, params: Params) -> Any:
        if holds_nul(params.fields):
            raise MalformedQuery(f"Invalid filter: {NO_NUL}")
        try:
            return super()._apply_filters(query, params)
        except pydantic.ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors()
            )
            raise MalformedQuery(f"Invalid filter: {problems}") from error

    async def get_ids(self, request: Request) -> Response:
        if "\0" in request.query_params.get("search", ""):
            return Response(f"Invalid search: {NO_NUL}", status_code=400)
        return await super().get_ids(request)  # type: ignore[no-any-return]

    async def post_single(self, request: Request, data: dict[str, Any]) -> Response:
        if holds_nul(data):
            return Response(NO_NUL, status_code=400)
        response = await super().post_single(request, data)
        if response.status_code == 201:
            row_id = _created_id(response.body)
            after = await self._row(row_id) if row_id is not None else None
            await self._audit(request, "create", row_id, created(after or data, self._secret))
        return response  # type: ignore[no-any-return]

    async def put_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        if holds_nul(data):
            return Response(NO_NUL, status_code=400)
        return await self._update(super().put_single, request, row_id, data)

    async def patch_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        if holds_nul(data):
            return Response(NO_NUL, status_code=400)
        return await self._update(super().patch_single, request, row_id, data)

    async def delete_single(self, request: Request, row_id: Any) -> Response:
        before = await self._row(row_id)
        response = await super().delete_single(request, row_id)
        if response.status_code < 300 and before is not None:
            await self._audit(request, "delete", row_id, deleted(before, self._secret))
        return response  # type: ignore[no-any-return]

    @property
    def _secret(self) -> frozenset[str]:
        return secret_fields(self.table)

    async def _row(self, row_id: Any) -> dict[str, Any] | None:
        table = self.table
        try:
            row = await table.select().where(table._meta.primary_key == row_id).first()
        except ValueError:  # a primary key of the wrong kind: the write refuses it too
            return None
        return row

    async def _update(
        self, write: Any, request: Request, row_id: Any, data: dict[str, Any]
    ) -> Response:
        before = await self._row(row_id)
        response = await write(request, row_id, data)
        if response.status_code < 300 and before is not None:
            after = await self._row(row_id) or {}
            await self._audit(request, "update", row_id, changed(before, after, self._secret))
        return response  # type: ignore[no-any-return]

    async def _audit(self, request: Request, action: str, row_id: Any, changes: Changes) -> None:
        user = getattr(request.user, "user", None)  # piccolo_api's session user
        await record(
            action,
            scope=request.scope,
            actor_id=getattr(user, "id", None),
            actor=getattr(user, "username", ""),
            target=(self.table._meta.tablename, row_id),
            changes=changes,
            source="admin",
        )


def _created_id(body: bytes) -> Any:
    """The primary key of the row piccolo_api says it created: `[{"id": 7}]` or `{"id": 7}`."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    first = answer[0] if isinstance(answer, list) and answer else answer
    return next(iter(first.values()), None) if isinstance(first, dict) else None


def holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, dict):
        return any(holds_nul(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    return False


class ConstraintRefusalsAsWarnings(logging.Filter):
    """One line at WARNING, with the database's reason, instead of an ERROR and a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}, answered 422: {record.exc_info[1]}"
            record.args = ()
            record.exc_info = record.exc_text = None
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def use_admin_crud() -> None:
    """Make Piccolo Admin build its table API from `AdminCRUD` (it names `PiccoloCRUD` in its
    own module) and log the database's refusals as warnings. Idempotent."""
    import piccolo_admin.endpoints

    piccolo_admin.endpoints.PiccoloCRUD = AdminCRUD  # type: ignore[attr-defined]
    logger = logging.getLogger(CONSTRAINT_LOGGER)
    if not any(isinstance(item, ConstraintRefusalsAsWarnings) for item in logger.filters):
        logger.addFilter(ConstraintRefusalsAsWarnings())
