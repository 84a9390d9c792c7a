"""Commands run as a person or a platform runs them: in a subprocess, with no terminal unless
a test gives it one, on the database the test names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO

BIN = Path(sys.executable).parent
# Every table of every registered app, and the migrations' own, as {tablename: rows}.
COUNT_ROWS = """
import asyncio, json
from piccolo.apps.migrations.tables import Migration
from piccolo.apps.user.tables import BaseUser
from piccolo.conf.apps import Finder

async def main():
    tables = [*Finder().get_table_classes(), Migration]
    counts = {table._meta.tablename: await table.count() for table in tables}
    superusers = await BaseUser.select(BaseUser.username).where(BaseUser.superuser.eq(True))
    print(json.dumps({"rows": counts, "superusers": [row["username"] for row in superusers]}))

asyncio.run(main())
"""


def environment(**environ: str) -> dict[str, str]:
    """The suite's environment with `environ` on top (an empty value overrides a .env file's)."""
    return {**os.environ, **environ}


def run(
    *command: str,
    cwd: Path = PROJECT_ROOT,
    timeout: float = 180,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command` to its end with no terminal (stdin is /dev/null), `env` added to the
    suite's environment."""
    return subprocess.run(
        command,
        cwd=cwd,
        env=environment(**(env or {})),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def piccolo(
    *args: str, cwd: Path = PROJECT_ROOT, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run(PICCOLO, *args, cwd=cwd, env=env)


def database_state(database_url: str, cwd: Path = PROJECT_ROOT) -> dict[str, object]:
    """Row counts of every table and the superusers' names, read by a separate process."""
    result = run(sys.executable, "-c", COUNT_ROWS, cwd=cwd, env={"DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    state: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return state


def wait_until_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the server did not start ({process.poll()}):\n{log.read_text()}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Make sure a server a test started is gone, whatever the test did."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
