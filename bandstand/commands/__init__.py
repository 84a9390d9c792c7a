"""The site's management commands, run as `piccolo project <command>`: one module each.

`demo`, `setup` and `startapp` work on the site's features, so they are made for them.

Piccolo imports every command to run any one of them: a command imports what only it needs (the
app, uvicorn, rich's progress bars) when it runs, so that one command's start-up doesn't pay for
all of them (tests/core/test_startup.py).
"""

from collections.abc import Callable, Sequence
from typing import Any

from piccolo.conf.apps import Command

from bandstand.commands.audit_export import audit_export
from bandstand.commands.backup import backup, restore
from bandstand.commands.check import check
from bandstand.commands.demo import demo_command
from bandstand.commands.release import release
from bandstand.commands.reset2fa import reset2fa
from bandstand.commands.sendtestemail import sendtestemail_command
from bandstand.commands.serve import serve
from bandstand.commands.setup import setup_command
from bandstand.commands.startapp import startapp_command
from bandstand.commands.superuser import superuser
from bandstand.commands.worker import worker_command
from bandstand.features import Feature


def site_commands(features: Sequence[Feature]) -> list[Command]:
    commands: list[Callable[..., Any]] = [
        demo_command(features),
        superuser,
        reset2fa,
        setup_command(features),
        release,
        serve,
        startapp_command(features),
        backup,
        restore,
        check,
        sendtestemail_command(features),
        worker_command(features),
    ]
    return [
        *(Command(callable=command) for command in commands),
        Command(callable=audit_export, command_name="audit-export"),
    ]
