"""ALLOWED_HOSTS as Django means it: host names, whatever the port, with `*.example.com` and `*`.

One matcher serves the site's Host check (in `bandstand/edge.py`) and Piccolo Admin's
Origin/Referer check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import overload


def host_pattern(hosts: Sequence[str]) -> re.Pattern[str] | None:
    """A pattern for "host" or "host:port" headers; None when `*` allows any host."""
    if "*" in hosts:
        return None
    names = (
        rf".*\.{re.escape(host[2:])}" if host.startswith("*.") else re.escape(host)
        for host in hosts
    )
    return re.compile(rf"(?:{'|'.join(sorted(names))})(?::[0-9]+)?", re.IGNORECASE)


class AllowedHostNames(Sequence[str]):
    """ALLOWED_HOSTS as the sequence Piccolo Admin checks an Origin's host name against
    (`hostname in allowed_hosts`), with the same wildcards as the site."""

    def __init__(self, hosts: Sequence[str]) -> None:
        self._hosts = tuple(hosts)
        self._pattern = host_pattern(self._hosts)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        # Origin gives IPv6 hosts without brackets; ALLOWED_HOSTS lists them with.
        return self._pattern is None or any(
            self._pattern.fullmatch(candidate) for candidate in (name, f"[{name}]")
        )

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._hosts[index]

    def __len__(self) -> int:
        return len(self._hosts)


# Platform health checks call an instance by its private address (Fly, Render, Kubernetes):
# the probes answer whatever the Host, and say nothing more than "up" or "ready".
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class HostCheck:
    """The site's Host check: a request to a path other than the probes must name an allowed
    host, with any port — unlike Litestar's, which matches the whole header, so a site on a
    port other than 80/443 would refuse every request unless each host:port pair were listed."""

    def __init__(self, hosts: Sequence[str]) -> None:
        self._pattern = host_pattern(hosts)

    def allows(self, host: bytes | None, path: str) -> bool:
        if self._pattern is None or path in PROBE_PATHS:
            return True
        if not host:
            return False
        return self._pattern.fullmatch(host.decode("latin-1")) is not None
