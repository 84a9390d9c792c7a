"""The app under a real uvicorn process, on a free loopback port, as it is deployed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support import PROJECT_ROOT
from tests.support.postgres_servers import free_port


@contextmanager
def live_server(**environ: str) -> Iterator[str]:
    """Serve `main:app` with `environ` added to the environment; yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Links made for outside (e-mails, a sign-in provider's way back) lead to this server.
    environ.setdefault("SITE_URL", base)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port), "--log-level=warning"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **environ},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    message = f"uvicorn did not start (exit code {process.poll()})"
                    raise RuntimeError(message) from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
