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


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
DATABASE_PROGRAMS = frozenset({"postgres", "pgbouncer"})


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def database_cpu_seconds() -> float:
    """The CPU time every PostgreSQL and PgBouncer process on the machine has used so far."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() in DATABASE_PROGRAMS:
                total += cpu_seconds(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended while being read
    return total
