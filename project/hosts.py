"""ALLOWED_HOSTS as Django means it: host names, whatever the port."""

from __future__ import annotations

import re

from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.allowed_hosts import AllowedHostsMiddleware
from litestar.types import ASGIApp


class AnyPortAllowedHostsMiddleware(AllowedHostsMiddleware):
    """Litestar's check, but `localhost` also allows `localhost:8000`.

    Litestar matches the whole Host header, port included, so a site served on a port other
    than 80/443 would refuse every request unless each host:port pair were listed.
    """

    def __init__(self, app: ASGIApp, config: AllowedHostsConfig) -> None:
        super().__init__(app, config)
        if self.allowed_hosts_regex is None:  # "*": anything goes
            return
        names = (
            rf".*\.{re.escape(host[2:])}" if host.startswith("*.") else re.escape(host)
            for host in config.allowed_hosts
        )
        self.allowed_hosts_regex = re.compile(rf"(?:{'|'.join(sorted(names))})(?::[0-9]+)?")


def allowed_hosts_middleware(hosts: tuple[str, ...]) -> DefineMiddleware:
    return DefineMiddleware(
        AnyPortAllowedHostsMiddleware, config=AllowedHostsConfig(allowed_hosts=list(hosts))
    )
