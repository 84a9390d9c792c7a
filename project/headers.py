"""Headers on every response the site sends (Piccolo Admin, a mount, sets its own).

The Content-Security-Policy allows only the site's own files: no inline script or style, no
eval, nothing from another origin. The templates are written for it (external scripts, the
CSP build of Alpine, htmx with eval off), so a script injected into a page does not run.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.handlers import ASGIRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # blob: for the preview of a photo chosen for upload; data: for Pico's inline icons.
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}

# Production only: a browser that has seen it refuses plain HTTP to the site for a year, which
# would lock out a development server on http://localhost.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware:
    """Adds `SECURITY_HEADERS`, encoded once, to every response that doesn't set its own (the
    media route sends a stricter policy).

    Raw ASGI, around the whole app rather than in Litestar's middleware list: Litestar answers a
    path no route matches before that list runs, and its 404 needs the headers too. Litestar's
    `response_headers` also rebuilt and re-encoded the same headers on every response."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        headers = dict(SECURITY_HEADERS)
        if hsts:
            headers["strict-transport-security"] = STRICT_TRANSPORT_SECURITY
        self.headers = [(name.encode(), value.encode()) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            # Routing has put the handler in the scope by now. A mounted app (Piccolo Admin)
            # sets its own headers; the site's CSP would break it.
            if message["type"] == "http.response.start" and not isinstance(
                scope.get("route_handler"), ASGIRouteHandler
            ):
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [header for header in self.headers if header[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
