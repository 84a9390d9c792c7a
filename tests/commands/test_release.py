"""`piccolo project release`, as a platform runs it: several instances at once, one migrates."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.commands.running import database_state, environment, piccolo
from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO

SUPERUSER = {
    "SUPERUSER_USERNAME": "admin",
    "SUPERUSER_EMAIL": "admin@example.com",
    "SUPERUSER_PASSWORD": "release-secret",
}
WAITING = "another process is migrating this database; waiting for it"

# A third process that holds the migration lock until its stdin gets a line.
HOLD_THE_LOCK = """
import asyncio, sys
from bandstand.database.migrations import migration_lock

async def main():
    async with migration_lock():
        print("locked", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

asyncio.run(main())
"""


def wait_for_text(path: Path, text: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while text not in path.read_text():
        assert process.poll() is None, f"exited {process.returncode}: {path.read_text()}"
        assert time.monotonic() < deadline, f"no {text!r} in: {path.read_text()}"
        time.sleep(0.1)


def test_two_releases_at_once_one_migrates_and_both_succeed(
    fresh_database_url: str, tmp_path: Path
) -> None:
    env = environment(DATABASE_URL=fresh_database_url, **SUPERUSER)
    # The lock is taken first by another process, so both releases surely meet it: they must
    # wait, and then take turns, rather than both find the migrations pending.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"

    logs = [tmp_path / f"release-{number}.log" for number in (1, 2)]
    releases = []
    for log in logs:
        with log.open("w") as output:
            releases.append(
                subprocess.Popen(
                    [PICCOLO, "project", "release"],
                    cwd=PROJECT_ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
    try:
        for log, release in zip(logs, releases, strict=True):
            wait_for_text(log, WAITING, release)
        holder.stdin.write("go\n")
        holder.stdin.flush()
        codes = [release.wait(timeout=120) for release in releases]
    finally:
        for process in (holder, *releases):
            process.kill()
            process.wait()

    outputs = [log.read_text() for log in logs]
    assert codes == [0, 0], outputs
    assert sorted("migrations: applied" in output for output in outputs) == [False, True], outputs
    assert sum("migrations: up to date" in output for output in outputs) == 1, outputs
    assert sum("superuser 'admin' created" in output for output in outputs) == 1, outputs
    assert sum("superuser: 'admin' exists" in output for output in outputs) == 1, outputs
    state = database_state(fresh_database_url)
    assert state["superusers"] == ["admin"]
    migrated = next(output for output in outputs if "migrations: applied" in output)
    applied = int(migrated.split("migrations: applied ")[1].split()[0])
    rows = state["rows"]
    assert isinstance(rows, dict)
    assert rows["migration"] == applied  # each migration recorded once


@pytest.mark.engine_independent
def test_a_failing_migration_fails_the_release(tmp_path: Path) -> None:
    path = tmp_path / "clash.sqlite3"
    with sqlite3.connect(path) as connection:  # a table a migration is about to create
        connection.execute("CREATE TABLE login_throttle (anything INTEGER)")
    connection.close()
    env = {"DATABASE_URL": f"sqlite:///{path}", **SUPERUSER}

    first = piccolo("project", "release", env=env)
    assert first.returncode == 1
    failed = 'release: migrations failed: OperationalError: table "login_throttle" already exists'
    assert failed in first.stderr
    assert "superuser 'admin' created" not in first.stdout
    # The failed release let go of the lock: the next one fails the same way, at once.
    again = piccolo("project", "release", env=env)
    assert again.returncode == 1
    assert WAITING not in again.stdout


@pytest.mark.engine_independent
def test_an_unreachable_database_fails_the_release_in_one_line() -> None:
    result = piccolo("project", "release", env={"DATABASE_URL": "postgresql://app@127.0.0.1:1/app"})

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "release: cannot use the database: ConnectionRefusedError: [Errno 111] Connection "
        "refused — nothing listens at that host and port"
    ) in result.stderr
