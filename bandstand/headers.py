"""Headers on every response the site sends (Piccolo Admin, a mount, sets its own).

The Content-Security-Policy allows only the site's own files: no inline script or style, no
eval, nothing from another origin. The templates are written for it (external scripts, the
CSP build of Alpine, htmx with eval off), so a script injected into a page does not run.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.handlers import ASGIRouteHandler
from litestar.types import Scope

Headers = list[tuple[bytes, bytes]]


def content_security_policy(form_targets: Iterable[str] = ()) -> str:
    """The site's policy; `form_targets` are the other origins a form may lead to (the sign-in
    providers': a sign-in button's form is answered with a redirect to its provider, and
    browsers hold that redirect to form-action)."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            # blob: for the preview of a photo chosen for upload; data: for Pico's inline icons.
            "img-src 'self' blob: data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            " ".join(("form-action 'self'", *form_targets)),
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()


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

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics")
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    # No page asks for these; a script injected into one can't either.
    "permissions-policy": PERMISSIONS_POLICY,
}

# Production only: a browser that has seen it refuses plain HTTP to the site for a year, which
# would lock out a development server on http://localhost.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def _encoded(headers: dict[str, str]) -> Headers:
    return [(name.encode(), value.encode()) for name, value in headers.items()]


class SecurityHeaders:
    """`SECURITY_HEADERS`, encoded once, for every response that doesn't set its own (the media
    route sends a stricter policy); a mounted app and the OpenAPI page get another CSP.
    Added by `bandstand/edge.py`: Litestar's `response_headers` rebuilt and re-encoded the same
    headers on every response, and missed the 404 it answers before its middleware runs."""

    def __init__(self, *, hsts: bool = False, form_targets: Iterable[str] = ()) -> None:
        headers = {
            **SECURITY_HEADERS,
            "content-security-policy": content_security_policy(form_targets),
        }
        if hsts:
            headers["strict-transport-security"] = STRICT_TRANSPORT_SECURITY
        self.site = _encoded(headers)
        self.docs = _encoded({**headers, "content-security-policy": DOCS_CONTENT_SECURITY_POLICY})
        self.mount = _encoded({**headers, "content-security-policy": MOUNT_CONTENT_SECURITY_POLICY})

    def added_to(self, headers: Iterable[tuple[bytes, bytes]], scope: Scope, path: str) -> Headers:
        """The response's headers with ours that it doesn't set. Called at the response's start,
        when routing has put the handler in the scope, with the path the request came with."""
        if isinstance(scope.get("route_handler"), ASGIRouteHandler):
            ours = self.mount
        elif path == DOCS_PATH or path.startswith(DOCS_PATH + "/"):
            ours = self.docs
        else:
            ours = self.site
        headers = list(headers)
        present = {name.lower() for name, _ in headers}
        headers += [header for header in ours if header[0] not in present]
        return headers
