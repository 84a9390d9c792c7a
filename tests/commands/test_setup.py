"""`piccolo project setup` on fresh databases, as a deploy's release step runs it: everything the
first time, nothing the second; a superuser from the environment, from a terminal, or a hint."""

from __future__ import annotations

import fcntl
import os
import select
import sqlite3
import subprocess
import termios
import time
from pathlib import Path

import pytest

from tests.commands.running import database_state, environment, piccolo
from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO

pytestmark = pytest.mark.engine_independent

SUPERUSER = {
    "SUPERUSER_USERNAME": "admin",
    "SUPERUSER_EMAIL": "admin@example.com",
    "SUPERUSER_PASSWORD": "setup-secret",
}
NO_SUPERUSER = {"SUPERUSER_USERNAME": "", "SUPERUSER_EMAIL": "", "SUPERUSER_PASSWORD": ""}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/setup.sqlite3"


def check_setup_twice(database_url: str) -> None:
    first = piccolo("project", "setup", env={"DATABASE_URL": database_url, **SUPERUSER})
    assert first.returncode == 0, first.stdout + first.stderr
    assert "migrations: applied" in first.stdout
    assert "project: " in first.stdout  # the migrations are listed by app
    assert "superuser 'admin' created" in first.stdout
    assert "demo data: load done" in first.stdout
    assert first.stdout.rstrip().endswith("setup: done")
    state = database_state(database_url)
    rows = state["rows"]
    assert isinstance(rows, dict)
    assert rows["group"] == 1  # the site's demo data: the pages feature's `team` group
    assert state["superusers"] == ["admin"]

    again = piccolo("project", "setup", env={"DATABASE_URL": database_url, **SUPERUSER})
    assert again.returncode == 0, again.stdout + again.stderr
    assert "migrations: up to date" in again.stdout
    assert "superuser: 'admin' exists" in again.stdout
    assert "demo data: not loaded, the database already has data" in again.stdout
    assert "setup: nothing to do" in again.stdout
    assert database_state(database_url) == state


def test_first_run_sets_up_and_the_second_changes_nothing(sqlite_url: str) -> None:
    check_setup_twice(sqlite_url)


def test_the_same_on_a_fresh_postgresql_database(fresh_postgres_url: str) -> None:
    check_setup_twice(fresh_postgres_url)


def test_without_superuser_variables_or_a_terminal_it_succeeds_with_a_hint(
    sqlite_url: str,
) -> None:
    result = piccolo(
        "project", "setup", "--skip_demo", env={"DATABASE_URL": sqlite_url, **NO_SUPERUSER}
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "superuser: none yet" in result.stdout
    assert "SUPERUSER_PASSWORD=… piccolo project superuser" in result.stdout
    assert "demo data: skipped (--skip_demo)" in result.stdout
    state = database_state(sqlite_url)
    rows = state["rows"]
    assert isinstance(rows, dict)
    assert state["superusers"] == []
    assert rows["piccolo_user"] == rows["group"] == 0
    assert rows["migration"] > 0


def test_a_failing_migration_stops_setup_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "clash.sqlite3"
    with sqlite3.connect(path) as connection:  # a table a migration is about to create
        connection.execute("CREATE TABLE login_throttle (anything INTEGER)")
    connection.close()

    result = piccolo("project", "setup", env={"DATABASE_URL": f"sqlite:///{path}", **SUPERUSER})

    assert result.returncode == 1
    assert 'setup: migrations failed: OperationalError: table "login_throttle" already exists' in (
        result.stderr
    )
    assert "superuser 'admin' created" not in result.stdout


def test_a_superuser_password_too_short_stops_setup_with_the_reason(sqlite_url: str) -> None:
    short = {**SUPERUSER, "SUPERUSER_PASSWORD": "abc"}

    result = piccolo("project", "setup", env={"DATABASE_URL": sqlite_url, **short})

    assert result.returncode == 1
    assert "setup: superuser: The password is too short. (min 6)" in result.stderr
    assert database_state(sqlite_url)["superusers"] == []


class Terminal:
    """`piccolo project setup` on a pseudo-terminal of its own, as a person at a shell runs it."""

    def __init__(self, database_url: str) -> None:
        self.master, slave = os.openpty()
        self.output = b""
        self.process = subprocess.Popen(
            [PICCOLO, "project", "setup", "--skip_demo"],
            cwd=PROJECT_ROOT,
            env=environment(DATABASE_URL=database_url, **NO_SUPERUSER),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            # The terminal becomes the session's controlling one, so getpass reads it
            # with echo off, as at a shell.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)

    def expect(self, prompt: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while prompt.encode() not in self.output:
            assert time.monotonic() < deadline, f"no {prompt!r} in {self.output!r}"
            if not self._read(deadline):
                raise AssertionError(f"ended before {prompt!r}: {self.output!r}")
        self.output = self.output.split(prompt.encode(), 1)[1]

    def answer(self, prompt: str, text: str) -> None:
        self.expect(prompt)
        os.write(self.master, text.encode() + b"\r")

    def finish(self) -> tuple[int, str]:
        deadline = time.monotonic() + 60
        while self._read(deadline):
            pass
        os.close(self.master)
        return self.process.wait(timeout=30), self.output.decode(errors="replace")

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the other side has closed
            return False
        self.output += chunk
        return bool(chunk)


def test_in_a_terminal_it_asks_for_the_superuser(sqlite_url: str) -> None:
    terminal = Terminal(sqlite_url)
    try:
        terminal.answer("username: ", "boss")
        terminal.answer("e-mail (optional): ", "")
        terminal.answer("password: ", "short")
        terminal.answer("password again: ", "short")
        terminal.expect("The password is too short")
        terminal.answer("username: ", "boss")
        terminal.answer("e-mail (optional): ", "boss@example.com")
        terminal.answer("password: ", "long-enough")
        terminal.answer("password again: ", "long-enough")
        code, output = terminal.finish()
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()

    assert code == 0, output
    assert "superuser 'boss' created" in output
    assert "long-enough" not in output  # not echoed
    assert database_state(sqlite_url)["superusers"] == ["boss"]
