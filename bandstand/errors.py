"""404, 500 and 503 as a browser expects them (a page of the site) and as an API client expects
them (JSON), never with a traceback, an exception's text or a file path: those go to the log,
under the request's id, which the answer shows so that a report can be matched to the log.

A database that is down, restarting or out of connections is a 503 with `Retry-After`, logged
in one line: the request was fine and will work again without anyone changing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.exceptions.responses import create_debug_response, create_exception_response
from litestar.response import Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from bandstand.database.errors import (
    UNAVAILABLE_ERROR_TYPES,
    describe_connection_error,
    is_unavailable,
)
from bandstand.request_ids import current_request_id

# Long enough for a database or pooler restart, short enough that a retry is soon.
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = "The database is unavailable right now. Try again in a few seconds."
# Inline rather than a file: it is the error pages' frame with two sentences in it.
_UNAVAILABLE_PAGE = """{% extends "errors/layout.html" %}
{% block title %}Temporarily unavailable · {{ site_name }}{% endblock %}
{% block content %}
<h1>Temporarily unavailable</h1>
<p>{{ detail }}</p>
{% if request_id %}<p>Reference: <code>{{ request_id }}</code></p>{% endif %}
<p><a href="">Try again</a></p>
{% endblock %}"""

logger = logging.getLogger(__name__)

Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


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


def database_unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    request_id = current_request_id()
    headers = {"retry-after": str(RETRY_AFTER_SECONDS), "cache-control": "no-store"}
    # One line, not a traceback: during an outage every request fails the same way.
    logger.warning("database unavailable: %s", describe_connection_error(error))
    if wants_html(request):
        return Template(
            template_str=_UNAVAILABLE_PAGE,
            context={"detail": DATABASE_UNAVAILABLE, "request_id": request_id},
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            media_type=MediaType.HTML,
            headers=headers,
        )
    return Response(
        {
            "status_code": HTTP_503_SERVICE_UNAVAILABLE,
            "detail": DATABASE_UNAVAILABLE,
            "request_id": request_id,
        },
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _unavailable_or(fallback: Handler) -> Handler:
    """503 for an unavailable database; anything else of the same types (a file error, a query
    the database refused) is a bug, answered by `fallback` as before."""

    def handle(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
        if is_unavailable(error):
            return database_unavailable(request, error)
        return fallback(request, error)

    return handle


# What Litestar's body decoding lets through instead of its usual 400: msgspec's errors for
# invalid UTF-8 in a JSON string and for nesting past its depth limit; and a multipart form
# field whose bytes are not text in its character set, or that names a character set Python
# does not know (LookupError).
MALFORMED_BODY_ERROR_TYPES: tuple[type[Exception], ...] = (
    UnicodeDecodeError,
    RecursionError,
    LookupError,
)
MALFORMED_BODY = "The request body is not valid JSON: invalid UTF-8, or nested too deep."
MALFORMED_FORM = "The form is not valid: a field's text is not in its character set."
# Litestar's functions that decode a request's body, and what their failure means.
_BODY_DECODERS = {"decode_json": MALFORMED_BODY, "parse_multipart_form": MALFORMED_FORM}


def body_decoding_error(error: BaseException) -> str | None:
    """What is wrong with the request's body, if `error` was raised while Litestar decoded it
    (not by the app's own code); else None."""
    frame = error.__traceback__
    while frame is not None:
        code = frame.tb_frame.f_code
        if code.co_name in _BODY_DECODERS and "litestar" in code.co_filename:
            return _BODY_DECODERS[code.co_name]
        frame = frame.tb_next
    return None


def from_body_decoding(error: BaseException) -> bool:
    """Raised while Litestar decoded a request's body (not by the app's own code)."""
    return body_decoding_error(error) is not None


def _malformed_body_or(fallback: Handler) -> Handler:
    def handle(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
        if detail := body_decoding_error(error):
            return Response(
                {"status_code": HTTP_400_BAD_REQUEST, "detail": detail},
                status_code=HTTP_400_BAD_REQUEST,
                media_type=MediaType.JSON,
            )
        return fallback(request, error)

    return handle


def exception_handlers(*, debug: bool) -> ExceptionHandlersMap:
    """With `debug`, Litestar's own 500 page stays: it shows the traceback, on purpose."""
    handlers: ExceptionHandlersMap = {HTTP_404_NOT_FOUND: not_found}
    if not debug:
        handlers[HTTP_500_INTERNAL_SERVER_ERROR] = server_error
    unavailable_or_bug = _unavailable_or(create_debug_response if debug else server_error)
    for error_type in UNAVAILABLE_ERROR_TYPES:
        handlers[error_type] = unavailable_or_bug
    malformed_or_bug = _malformed_body_or(create_debug_response if debug else server_error)
    for error_type in MALFORMED_BODY_ERROR_TYPES:
        handlers[error_type] = malformed_or_bug
    return handlers
