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


# Litestar's OpenAPI page loads Swagger UI from its CDN and starts it with an inline script. The
# page shows the app's own schema, nothing a user wrote.
DOCS_PATH = "/schema"
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "img-src 'self' data: https://cdn.jsdelivr.net",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)
# A mounted app (Piccolo Admin's single-page app) brings its own scripts and styles: only
# framing is forbidden there.
MOUNT_CONTENT_SECURITY_POLICY = "frame-ancestors 'none'"

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}

# Production only: a browser that has seen it refuses plain HTTP to the site for a year, which
# would lock out a development server on http://localhost.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in headers.items()]


class SecurityHeadersMiddleware:
    """Adds `SECURITY_HEADERS`, encoded once, to every response that doesn't set its own (the
    media route sends a stricter policy); a mounted app and the OpenAPI page get another CSP.

    Raw ASGI, around the whole app rather than in Litestar's middleware list: Litestar answers a
    path no route matches before that list runs, and its 404 needs the headers too. Litestar's
    `response_headers` also rebuilt and re-encoded the same headers on every response."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        headers = dict(SECURITY_HEADERS)
        if hsts:
            headers["strict-transport-security"] = STRICT_TRANSPORT_SECURITY
        self.headers = _encoded(headers)
        self.docs_headers = _encoded(
            {**headers, "content-security-policy": DOCS_CONTENT_SECURITY_POLICY}
        )
        self.mount_headers = _encoded(
            {**headers, "content-security-policy": MOUNT_CONTENT_SECURITY_POLICY}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        docs = path == DOCS_PATH or path.startswith(DOCS_PATH + "/")
        ours = self.docs_headers if docs else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Routing has put the handler in the scope by now.
                mounted = isinstance(scope.get("route_handler"), ASGIRouteHandler)
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                extra = self.mount_headers if mounted else ours
                headers += [header for header in extra if header[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
