"""`piccolo project setup`: migrations, a superuser and demo data, safe to run on every deploy."""

from __future__ import annotations

import contextlib
import getpass
import io
import sys
from collections.abc import Iterator

import anyio.to_thread
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.apps.user.tables import BaseUser
from rich.console import Console
from rich.progress import Progress

from project.accounts.users import create_user
from project.commands.demo import demo
from project.commands.superuser import superuser
from project.features import FEATURES
from project.settings import get_settings

SUPERUSER_HINT = (
    "superuser: none yet; create one later with "
    "SUPERUSER_USERNAME=… SUPERUSER_PASSWORD=… piccolo project superuser "
    "(or run piccolo project setup in a terminal)"
)


async def setup(skip_demo: bool = False) -> None:
    """
    Prepare the database: apply every app's pending migrations, create a superuser if there is
    none, and load the demo data into an empty database. Safe to run on every deploy: a second
    run changes nothing and says so. The superuser comes from SUPERUSER_USERNAME,
    SUPERUSER_EMAIL and SUPERUSER_PASSWORD (environment or .env); without them setup asks in a
    terminal, or says how to create one later.

    :param skip_demo:
        do not load the demo data, even into an empty database (for production).
    """
    # Fixed to the real stdout: the migrations' own chatter is captured while the bar runs.
    with Progress(console=Console(file=sys.stdout), transient=False) as progress:
        task = progress.add_task("setup: migrations", total=3)
        changed = await _migrate()
        progress.advance(task)

        progress.update(task, description="setup: superuser")
        changed |= await _ensure_superuser(progress)
        progress.advance(task)

        progress.update(task, description="setup: demo data")
        changed |= await _load_demo(progress, skip_demo)
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


def _migration_ids() -> dict[str, list[str]]:
    """Every app's migration ids, from its migrations folder (imports the modules: file I/O)."""
    manager = BaseMigrationManager()
    ids = {}
    for app_name in manager.get_sorted_app_names():
        folder = manager.get_app_config(app_name).resolved_migrations_folder_path
        ids[app_name] = manager.get_migration_ids(manager.get_migration_modules(folder))
    return ids


async def pending_migrations() -> list[str]:
    """The migrations not yet applied, as `app: id`, in the order they would run."""
    ids = await anyio.to_thread.run_sync(_migration_ids)
    recorded = await Migration.table_exists()
    pending = []
    for app_name, app_ids in ids.items():
        ran = set(await Migration.get_migrations_which_ran(app_name)) if recorded else set()
        pending += [f"{app_name}: {id_}" for id_ in app_ids if id_ not in ran]
    return pending


async def _migrate() -> bool:
    pending = await pending_migrations()
    if not pending:
        print("migrations: up to date")
        return False
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        try:
            result = await run_forwards(app_name="all")
            failure = None if result.success else (result.message or "unknown error")
        except Exception as error:  # noqa: BLE001 - any failure is reported and stops setup
            failure = f"{type(error).__name__}: {error}"
    if failure is not None:
        sys.stderr.write(printed.getvalue().rstrip("\n") + "\n")
        sys.exit(f"setup: migrations failed: {failure}")
    print(f"migrations: applied {len(pending)}")
    for name in pending:
        print(f"  {name}")
    return True


async def _ensure_superuser(progress: Progress) -> bool:
    existing = await BaseUser.select(BaseUser.username).where(BaseUser.superuser.eq(True)).first()
    if existing is not None:
        print(f"superuser: {existing['username']!r} exists")
        return False
    settings = get_settings()
    if settings.superuser_username.strip() and settings.superuser_password:
        try:
            await superuser()  # creates it from SUPERUSER_*
        except SystemExit as stop:  # its reason (a short password), named as setup's
            sys.exit(f"setup: {stop.code}")
        return True
    if sys.stdin.isatty():
        with _paused(progress):
            return await _ask_for_superuser()
    print(SUPERUSER_HINT)
    return False


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


async def _database_is_empty() -> bool:
    for feature in FEATURES:
        for table in feature.tables:
            if await table.exists():
                return False
    return True


async def _load_demo(progress: Progress, skip_demo: bool) -> bool:
    if skip_demo:
        print("demo data: skipped (--skip_demo)")
        return False
    if not await _database_is_empty():
        print("demo data: not loaded, the database already has data")
        return False
    with _paused(progress):
        await demo("load")
    return True
