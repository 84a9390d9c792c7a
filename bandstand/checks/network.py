"""Is an address on this machine? Traffic over loopback or a Unix socket never leaves it."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_host(host: str) -> bool:
    """A host name or address as written in a URL or setting (no DNS lookup)."""
    name = host.strip().strip("[]").lower()
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_peer(peername: object) -> bool:
    """A transport's `peername`: an (address, port, ...) tuple for TCP, a path (or empty
    string) for a Unix socket."""
    if isinstance(peername, tuple) and peername and isinstance(peername[0], str):
        return is_loopback_host(peername[0])
    return isinstance(peername, str)


def is_plaintext_remote_url(url: str) -> bool:
    """An http:// URL to another machine: what is sent to it can be read on the way."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname or "")


def format_peer(peername: object) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = peername[0], peername[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return f"the Unix socket {peername}" if peername else "a Unix socket"
