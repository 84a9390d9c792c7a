"""The servers `make bench` measures: uvicorn processes, their start-up time and memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.postgres_servers import free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def serve(module: str, environ: dict[str, str]) -> Iterator[tuple[str, int, float]]:
    """uvicorn serving `module`; yields its base URL, pid and seconds from start to first 200."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            module,
            "--port",
            str(port),
            "--log-level=warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **environ},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None or time.perf_counter() - started > 30:
                    raise RuntimeError(f"{module} did not start") from None
                time.sleep(0.005)
        yield base, process.pid, time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
