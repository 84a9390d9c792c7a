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
"""

from __future__ import annotations

import logging
from typing import Any

import pydantic
from piccolo_api.crud.endpoints import ParamException, Params, PiccoloCRUD
from piccolo_api.crud.exceptions import MalformedQuery
from starlette.requests import Request
from starlette.responses import Response

from bandstand.forms import NO_NUL

# Where piccolo_api logs the database errors it answers with a 422.
CONSTRAINT_LOGGER = "piccolo_api.crud.exceptions"


class AdminCRUD(PiccoloCRUD):
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
        return await super().post_single(request, data)  # type: ignore[no-any-return]

    async def put_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        if holds_nul(data):
            return Response(NO_NUL, status_code=400)
        return await super().put_single(request, row_id, data)  # type: ignore[no-any-return]

    async def patch_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        if holds_nul(data):
            return Response(NO_NUL, status_code=400)
        return await super().patch_single(request, row_id, data)  # type: ignore[no-any-return]


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
