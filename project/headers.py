"""Headers on every page the site renders (Piccolo Admin, a mount, sets its own).

The Content-Security-Policy allows only the site's own files: no inline script or style, no
eval, nothing from another origin. The templates are written for it (external scripts, the
CSP build of Alpine, htmx with eval off), so a script injected into a page does not run.
"""

from __future__ import annotations

from litestar.datastructures import ResponseHeader

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


def security_headers() -> list[ResponseHeader]:
    return [
        ResponseHeader(name="content-security-policy", value=CONTENT_SECURITY_POLICY),
        ResponseHeader(name="x-content-type-options", value="nosniff"),
        ResponseHeader(name="referrer-policy", value="same-origin"),
        ResponseHeader(name="x-frame-options", value="DENY"),
    ]
