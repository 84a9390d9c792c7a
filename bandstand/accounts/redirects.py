"""`next` parameters that can only lead back into this site."""

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default` — never an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    # Browsers treat backslashes as slashes and drop tabs and newlines: "/\\evil" is "//evil".
    if any(character in target for character in "\\\t\r\n"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
