"""`piccolo project setup`: migrations, a superuser and demo data, safe to run on every deploy."""

from __future__ import annotations

import contextlib
import getpass
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.users import create_user
from bandstand.commands.demo import run_demo
from bandstand.commands.release import migrations_failed, report_migrations, say_waiting
from bandstand.commands.superuser import SUPERUSER_HINT, ensure_superuser
from bandstand.database.migrations import MigrationError, apply_migrations, migration_lock
from bandstand.features import Feature, with_framework

if TYPE_CHECKING:
    from rich.progress import Progress


def setup_command(features: Sequence[Feature]) -> Callable[[bool], Awaitable[None]]:
    async def setup(skip_demo: bool = False) -> None:
        """
        Prepare the database: apply every app's pending migrations, create a superuser if there
        is none, and load the demo data into an empty database. Safe to run on every deploy: a
        second run changes nothing and says so. The superuser comes from SUPERUSER_USERNAME,
        SUPERUSER_EMAIL and SUPERUSER_PASSWORD (environment or .env); without them setup asks
        in a terminal, or says how to create one later.

        :param skip_demo:
            do not load the demo data, even into an empty database (for production).
        """
        await run_setup(with_framework(features), skip_demo)

    return setup


async def run_setup(features: Sequence[Feature], skip_demo: bool = False) -> None:
    """Migrations, a superuser, and the demo data of `features` into an empty database."""
    from rich.console import Console
    from rich.progress import Progress

    # Fixed to the real stdout: the migrations' own chatter is captured while the bar runs.
    with Progress(console=Console(file=sys.stdout), transient=False) as progress:
        task = progress.add_task("setup: migrations", total=3)
        changed = await _migrate()
        # Before the superuser step, which writes a feature table (its confirmed address).
        empty = await _database_is_empty(features)
        progress.advance(task)

        progress.update(task, description="setup: superuser")
        changed |= await _ensure_superuser(progress)
        progress.advance(task)

        progress.update(task, description="setup: demo data")
        changed |= await _load_demo(features, progress, skip_demo=skip_demo, empty=empty)
        progress.advance(task)
        progress.update(task, description="setup: done")
    print("setup: done" if changed else "setup: nothing to do, everything is already set up")


@contextlib.contextmanager
def _paused(progress: Progress) -> Iterator[None]:
    """Stop redrawing the bar while a step prompts or shows a bar of its own (rich allows one
    live display at a time)."""
    progress.stop()
    try:
        yield
    finally:
        progress.start()


async def _migrate() -> bool:
    async with migration_lock(on_wait=say_waiting):
        try:
            applied = await apply_migrations()
        except MigrationError as error:
            migrations_failed("setup", error)
    report_migrations(applied)
    return bool(applied)


async def _ensure_superuser(progress: Progress) -> bool:
    try:
        return await ensure_superuser(ask=_ask_for_superuser, pause=lambda: _paused(progress))
    except SystemExit as stop:  # its reason (a short password), named as setup's
        sys.exit(f"setup: {stop.code}")


async def _ask_for_superuser() -> bool:
    # The prompts block the event loop on purpose: nothing else runs in this command, and
    # Ctrl-C stays an ordinary KeyboardInterrupt (a prompt on a worker thread would keep the
    # process waiting for Enter).
    print("No superuser yet: create one (an empty username skips this).")
    try:
        while True:
            username = input("username: ").strip()  # noqa: ASYNC250
            if not username:
                break
            if await BaseUser.exists().where(BaseUser.username == username):
                print(f"the username {username!r} is taken")
                continue
            email = input("e-mail (optional): ").strip()  # noqa: ASYNC250
            email = email or f"{username}@localhost"
            password = getpass.getpass("password: ")
            if getpass.getpass("password again: ") != password:
                print("the passwords differ; again")
                continue
            try:
                await create_user(username, email, password, admin=True, superuser=True)
            except ValueError as error:  # the password's length
                print(f"{error}; again")
                continue
            print(f"superuser {username!r} created")
            return True
    except EOFError:
        print()
    print(SUPERUSER_HINT)
    return False


async def _database_is_empty(features: Sequence[Feature]) -> bool:
    for feature in features:
        for table in feature.tables:
            if await table.exists():
                return False
    return True


async def _load_demo(
    features: Sequence[Feature], progress: Progress, *, skip_demo: bool, empty: bool
) -> bool:
    if skip_demo:
        print("demo data: skipped (--skip_demo)")
        return False
    if not empty:
        print("demo data: not loaded, the database already has data")
        return False
    with _paused(progress):
        await run_demo(features, "load")
    return True
