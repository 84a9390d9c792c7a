"""401 and 403 as a browser expects them: a login page and a readable refusal, not JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_401_UNAUTHORIZED, HTTP_403_FORBIDDEN
from litestar.types import ExceptionHandlersMap

from bandstand.accounts.guards import EmailNotVerified, SecondFactorRequired
from bandstand.accounts.two_factor import SETUP_PATH
from bandstand.errors import wants_html


def _here(request: Request[Any, Any, Any]) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def not_authorized(request: Request[Any, Any, Any], error: NotAuthorizedException) -> Response[Any]:
    if wants_html(request):
        return Redirect(f"/login?{urlencode({'next': _here(request)})}", status_code=303)
    return Response(
        {"status_code": HTTP_401_UNAUTHORIZED, "detail": error.detail},
        status_code=HTTP_401_UNAUTHORIZED,
    )


def permission_denied(
    request: Request[Any, Any, Any], error: PermissionDeniedException
) -> Response[Any]:
    if wants_html(request):
        return Template(
            "accounts/forbidden.html",
            context={"detail": error.detail},
            status_code=HTTP_403_FORBIDDEN,
        )
    return Response(
        {"status_code": HTTP_403_FORBIDDEN, "detail": error.detail}, status_code=HTTP_403_FORBIDDEN
    )


def email_not_verified(request: Request[Any, Any, Any], error: EmailNotVerified) -> Response[Any]:
    if wants_html(request):
        return Template(
            "accounts/email_not_verified.html",
            context={"detail": error.detail},
            status_code=HTTP_403_FORBIDDEN,
        )
    return permission_denied(request, error)


def second_factor_required(
    request: Request[Any, Any, Any], error: SecondFactorRequired
) -> Response[Any]:
    if wants_html(request):
        return Redirect(f"{SETUP_PATH}?{urlencode({'next': _here(request)})}", status_code=303)
    return permission_denied(request, error)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    NotAuthorizedException: not_authorized,
    PermissionDeniedException: permission_denied,
    EmailNotVerified: email_not_verified,
    SecondFactorRequired: second_factor_required,
}
