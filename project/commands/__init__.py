"""The project's management commands, run as `piccolo project <command>`: one module each."""

from collections.abc import Callable
from typing import Any

from project.commands.backup import backup, restore
from project.commands.check import check
from project.commands.demo import demo
from project.commands.release import release
from project.commands.serve import serve
from project.commands.setup import setup
from project.commands.startapp import startapp
from project.commands.superuser import superuser

COMMANDS: list[Callable[..., Any]] = [
    demo,
    superuser,
    setup,
    release,
    serve,
    startapp,
    backup,
    restore,
    check,
]
