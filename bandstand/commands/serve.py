"""`piccolo project serve`: the site under uvicorn, configured from the environment as a PaaS
start command needs (PORT, WEB_CONCURRENCY, FORWARDED_ALLOW_IPS)."""

from __future__ import annotations

import errno
import os
import socket
import sys

from bandstand.settings import get_settings

DEFAULT_PORT = 8000
# uvicorn's own variable and default: plain `uvicorn main:app` trusts the same proxies.
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1"
# Platforms send SIGTERM and kill some seconds later (Fly.io 5 s by default, most others 30 s);
# without a limit an open chat stream would hold the shutdown until that kill.
GRACEFUL_SHUTDOWN_SECONDS = 20


def serve(
    host: str = "0.0.0.0",  # noqa: S104 - a server's job
    port: str = "",
    app: str = "main:app",
) -> None:
    """
    Serve the site with uvicorn (`main:app`): port from PORT (default 8000), worker processes
    from WEB_CONCURRENCY (default 1), X-Forwarded-Proto/For trusted only from the addresses in
    FORWARDED_ALLOW_IPS (default 127.0.0.1; comma-separated, * for any). For a PaaS start
    command; SIGTERM stops it cleanly.

    :param host:
        the address to listen on (default 0.0.0.0, every interface).
    :param port:
        the port to listen on (default: PORT, else 8000).
    :param app:
        the ASGI app to serve, as module:attribute from the project's folder (default main:app).
    """
    host, port = str(host), str(port)  # targ hands a bare `--port` over as True
    listen_port = _whole_number("--port", port, 1, 65535) if port else _port_from_environment()
    workers = _whole_number("WEB_CONCURRENCY", os.environ.get("WEB_CONCURRENCY") or "1", 1, 512)
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or DEFAULT_FORWARDED_ALLOW_IPS
    _check_can_listen(host, listen_port)
    settings = get_settings()
    as_json = settings.log_format == "json"
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from bandstand.logs import uvicorn_json_log_config

    uvicorn.run(
        str(app),
        app_dir=str(settings.root),
        host=host,
        port=listen_port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level=settings.log_level.lower(),
        # In json mode the app writes the access log, one line per request with its id.
        log_config=uvicorn_json_log_config(settings.log_level) if as_json else LOGGING_CONFIG,
        access_log=not as_json,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _port_from_environment() -> int:
    raw = os.environ.get("PORT", "").strip()
    return _whole_number("PORT", raw, 1, 65535) if raw else DEFAULT_PORT


def _whole_number(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        sys.exit(
            f"serve: {name}={raw!r} is not valid: expected a whole number from {low} to {high}"
        )
    return value


def _check_can_listen(host: str, port: int) -> None:
    """Bind once and let go, so that a taken port or a bad host is one clear line instead of
    a traceback from each worker."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            # As uvicorn does: a port left in TIME_WAIT by the last run is free to use.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except socket.gaierror as error:
        sys.exit(f"serve: cannot listen on {host!r}: {error.strerror}")
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            sys.exit(f"serve: port {port} on {host} is already in use (set PORT or --port)")
        if error.errno == errno.EACCES:
            sys.exit(f"serve: not allowed to listen on port {port} (below 1024 needs privileges)")
        sys.exit(f"serve: cannot listen on {host}:{port}: {error.strerror}")
