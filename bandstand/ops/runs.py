"""What `/ops` runs: the project's own commands (`piccolo …`, as a release step or a shell would
run them), each as a child process of the web process, with its output kept for the page.

A child process, not a call in the web process: a command runs as it does from a shell (its own
event loop, its own pool, its exit code), and a long one holds no request open. One runs at a
time per instance, so two migrations never race from one page; the runs are kept in the
instance's memory (the last RUNS_KEPT), and the audit log keeps who ran what and how it ended.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from bandstand.settings import Settings

RUNS_KEPT = 20
OUTPUT_KEPT = 256 * 1024
TIMEOUT_SECONDS = 30 * 60


class Action(NamedTuple):
    label: str
    arguments: tuple[str, ...]
    # What the button says it does, shown beside it.
    help: str


ACTIONS: dict[str, Action] = {
    "migrations": Action(
        "Migration status", ("migrations", "check"), "which migrations have run, and which not"
    ),
    "migrate": Action(
        "Run migrations", ("migrations", "forwards", "all"), "every migration not run yet"
    ),
    "check": Action(
        "Deploy check", ("project", "check", "--deploy"), "`piccolo project check --deploy`"
    ),
    "demo-reset": Action(
        "Reset the demo data", ("project", "demo", "reset"), "clear the demo data and load it anew"
    ),
    "backup": Action(
        "Take a backup", ("project", "backup"), "every table and upload, into BACKUP_ROOT"
    ),
}


@dataclass
class Run:
    id: int
    action: str
    label: str
    by: str
    started_at: datetime.datetime
    finished_at: datetime.datetime | None = None
    exit_code: int | None = None
    output: str = ""
    _process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def append(self, text: str) -> None:
        self.output = (self.output + text)[-OUTPUT_KEPT:]


class Busy(Exception):
    """A run is under way in this instance."""


class Runner:
    """The runs of one app instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs: collections.deque[Run] = collections.deque(maxlen=RUNS_KEPT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_id = 1

    def running(self) -> Run | None:
        return next((run for run in self.runs if not run.finished), None)

    def find(self, run_id: int) -> Run | None:
        return next((run for run in self.runs if run.id == run_id), None)

    def start(
        self,
        action: str,
        extra: Sequence[str],
        by: str,
        when_done: Callable[[Run], Awaitable[None]],
    ) -> Run:
        """Start `action` (with `extra` arguments); `when_done` is awaited once it ends."""
        if self.running() is not None:
            raise Busy()
        chosen = ACTIONS[action]
        run = Run(self._next_id, action, chosen.label, by, datetime.datetime.now(datetime.UTC))
        self._next_id += 1
        self.runs.appendleft(run)
        task = asyncio.create_task(self._run(run, [*chosen.arguments, *extra], when_done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def _run(
        self, run: Run, arguments: list[str], when_done: Callable[[Run], Awaitable[None]]
    ) -> None:
        command = [sys.executable, "-m", "piccolo.main", *arguments]
        run.append(f"$ piccolo {' '.join(arguments)}\n")
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=self.settings.root,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            run._process = process
            await asyncio.wait_for(self._read(run, process), TIMEOUT_SECONDS)
            run.exit_code = await process.wait()
        except TimeoutError:
            run.append(f"\nStopped after {TIMEOUT_SECONDS // 60} minutes.\n")
            await self._stop(run)
        except OSError as error:  # the interpreter could not be started
            run.append(f"\nCould not start: {error}\n")
            run.exit_code = -1
        finally:
            if run.exit_code is None:
                run.exit_code = -1
            try:
                await when_done(run)
            finally:
                # Ended only now: what the page shows as ended is in the audit log already.
                run.finished_at = datetime.datetime.now(datetime.UTC)

    @staticmethod
    async def _read(run: Run, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(4096):
            run.append(chunk.decode("utf-8", errors="replace"))

    @staticmethod
    async def _stop(run: Run) -> None:
        process = run._process
        if process is None or process.returncode is not None:
            return
        process.kill()
        with contextlib.suppress(ProcessLookupError):
            run.exit_code = await process.wait()
