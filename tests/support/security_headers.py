"""The security headers the site must send, written out as literals.

Tests compare responses with these, never with the constants in bandstand/headers.py: a test
against the app's own constant stays green when the constant is weakened (an `'unsafe-inline'`
added to `script-src`, HSTS cut to `max-age=0`).
"""

from __future__ import annotations

from collections.abc import Mapping

SITE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "blob:", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Swagger UI from its CDN, started by an inline script: the OpenAPI page only.
DOCS_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'unsafe-inline'", "https://cdn.jsdelivr.net"],
    "style-src": ["'self'", "'unsafe-inline'", "https://cdn.jsdelivr.net"],
    "img-src": ["'self'", "data:", "https://cdn.jsdelivr.net"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Piccolo Admin's single-page app brings its own scripts and styles: only framing is forbidden.
MOUNT_POLICY = {"frame-ancestors": ["'none'"]}
# A stored upload, served as itself.
MEDIA_POLICY = {"default-src": ["'none'"], "sandbox": []}

HSTS = "max-age=31536000; includeSubDomains"
OTHER_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "permissions-policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"
    ),
}


def parse_policy(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as {directive: sources}; a directive given twice is an error."""
    policy: dict[str, list[str]] = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        assert name.lower() not in policy, f"{name} twice in {header!r}"
        policy[name.lower()] = sources
    return policy


def check_security_headers(
    headers: Mapping[str, str], policy: Mapping[str, list[str]], *, hsts: bool
) -> None:
    """The headers carry exactly `policy` and the literal values above, HSTS when `hsts`."""
    sent = parse_policy(headers["content-security-policy"])
    if policy is not DOCS_POLICY:
        unsafe = [source for source in sent.get("script-src", []) if "unsafe" in source]
        assert not unsafe, f"script-src allows {unsafe}"
    assert sent == policy
    for name, value in OTHER_HEADERS.items():
        assert headers[name] == value, (name, headers.get(name))
    if hsts:
        assert headers["strict-transport-security"] == HSTS
    else:
        assert "strict-transport-security" not in headers
