"""404 and 500 as a browser expects them (a page of the site) and as an API client expects them
(JSON), never with a traceback, an exception's text or a file path: those go to the log, under
the request's id, which the 500 answer shows so that a report can be matched to the log.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.exceptions.responses import create_exception_response
from litestar.response import Template
from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from project.request_ids import current_request_id


def wants_html(request: Request[Any, Any, Any]) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(
        "/api/"
    )


def not_found(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    if not wants_html(request):
        return create_exception_response(request, error)
    # The same page whatever the detail: some (Litestar's static files) name what was looked for.
    return Template(
        "errors/404.html",
        status_code=HTTP_404_NOT_FOUND,
        media_type=MediaType.HTML,
    )


def server_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    request_id = current_request_id()
    if wants_html(request):
        return Template(
            "errors/500.html",
            context={"request_id": request_id},
            status_code=HTTP_500_INTERNAL_SERVER_ERROR,
            media_type=MediaType.HTML,
        )
    return Response(
        {
            "status_code": HTTP_500_INTERNAL_SERVER_ERROR,
            "detail": "Internal Server Error",
            "request_id": request_id,
        },
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )


def exception_handlers(*, debug: bool) -> ExceptionHandlersMap:
    """With `debug`, Litestar's own 500 page stays: it shows the traceback, on purpose."""
    handlers: ExceptionHandlersMap = {HTTP_404_NOT_FOUND: not_found}
    if not debug:
        handlers[HTTP_500_INTERNAL_SERVER_ERROR] = server_error
    return handlers
