"""Follow a tutorial word for word in a copy of the project, as a reader would.

Commands run with bash from the project folder, in an environment like a fresh terminal's
(no settings variables; the virtualenv is the project's own `.venv`). The site runs as the
tutorial starts it, on a free port instead of 8000 (`PORT`); pages are read and forms sent
over HTTP. Values only a reader has (a database URL, an API key) are replaced by the test's
own through `substitutions`; each must appear in the tutorial, so a replaced value can't go
stale unnoticed. The conventions are in docs/tutorials/README.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.postgres_servers import free_port
from tests.tutorials.browser import Browser, BrowserError, ChatReply
from tests.tutorials.edits import EditError, apply_diff, write_file
from tests.tutorials.markdown import Block, Directive, Step, parse

COMMAND_TIMEOUT = 300.0
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A fresh terminal's: who and where the reader is, nothing of the suite's settings.
KEPT_VARIABLES = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR", "TZ")


class TutorialFailed(AssertionError):
    """A step did not do what the tutorial says."""


@dataclass
class Transcript:
    """What the reader saw, for the test's own assertions."""

    outputs: list[str] = field(default_factory=list)
    chats: list[ChatReply] = field(default_factory=list)


def reader_environment(venv: Path = Path(sys.prefix)) -> dict[str, str]:
    environment = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    return environment


def run_tutorial(
    tutorial: Path,
    project: Path,
    logs: Path,
    *,
    substitutions: Mapping[str, str] | None = None,
) -> Transcript:
    """Follow every step of `tutorial` in `project` (a copy the test may change)."""
    steps = _substituted(parse(tutorial), substitutions or {}, tutorial)
    run = _Run(tutorial, project, logs)
    try:
        for step in steps:
            try:
                run.step(step)
            except (BrowserError, EditError, httpx.HTTPError) as error:
                raise TutorialFailed(f"{tutorial.name}:{step.line}: {error}") from error
    finally:
        run.close()
    return run.transcript


def _substituted(steps: list[Step], substitutions: Mapping[str, str], tutorial: Path) -> list[Step]:
    if not substitutions:
        return steps
    # One pass, longest first: a replaced value is never replaced again.
    pattern = re.compile("|".join(map(re.escape, sorted(substitutions, key=len, reverse=True))))
    used: set[str] = set()

    def replace(text: str) -> str:
        def one(found: re.Match[str]) -> str:
            used.add(found.group(0))
            return substitutions[found.group(0)]

        return pattern.sub(one, text)

    replaced: list[Step] = [
        dataclasses.replace(step, text=replace(step.text))
        if isinstance(step, Block)
        else dataclasses.replace(step, arguments=tuple(map(replace, step.arguments)))
        for step in steps
    ]
    unused = sorted(set(substitutions) - used)
    if unused:
        raise TutorialFailed(f"{tutorial.name}: the test replaces {unused}, which it never shows")
    return replaced


class _Run:
    def __init__(self, tutorial: Path, project: Path, logs: Path) -> None:
        self.tutorial = tutorial
        self.project = project
        self.logs = logs
        self.environment = reader_environment()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.browser = Browser(self.base)
        self.server: subprocess.Popen[bytes] | None = None
        self.server_log: Path | None = None
        self.transcript = Transcript()

    def step(self, step: Step) -> None:
        if isinstance(step, Directive):
            self.directive(step)
            return
        kind = step.kind
        if kind == "command":
            self.command(step)
        elif kind == "server":
            self.start_server(step)
        elif kind == "write":
            write_file(self._path(step), step.text)
        elif kind == "edit":
            apply_diff(self._path(step), step.text)
        elif kind == "output":
            self.check_output(step)
        elif kind == "page":
            self.check_page(step)

    def _fail(self, line: int, message: str) -> TutorialFailed:
        return TutorialFailed(f"{self.tutorial.name}:{line}: {message}")

    def _path(self, block: Block) -> Path:
        """The block's file; a name with a `*` is the last file in name order that matches
        (`piccolo_migrations/project_*.py`: the newest migration)."""
        name = block.options["file"]
        if "*" in name:
            matches = sorted(self.project.glob(name))
            if not matches:
                raise self._fail(block.line, f"no file matches file={name}")
            name = str(matches[-1].relative_to(self.project))
        path = (self.project / name).resolve()
        if self.project.resolve() not in path.parents:
            raise self._fail(block.line, f"file={name} is outside the project")
        return path

    # ------------------------------------------------------------------ commands

    def command(self, block: Block) -> None:
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.text],
            cwd=self.project,
            env=self.environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        output = ANSI.sub("", result.stdout.decode(errors="replace"))
        self.transcript.outputs.append(output)
        if result.returncode != 0:
            raise self._fail(
                block.line, f"`{block.text}` exited with {result.returncode}:\n{output}"
            )

    def check_output(self, block: Block) -> None:
        if not self.transcript.outputs:
            raise self._fail(block.line, "an output block with no command before it")
        output = self.transcript.outputs[-1]
        printed = [" ".join(line.split()) for line in output.splitlines()]
        for expected in _lines(block.text):
            pattern = re.compile(".*".join(map(re.escape, expected.split("…"))))
            if not any(pattern.search(line) for line in printed):
                raise self._fail(block.line, f"the command did not print {expected!r}:\n{output}")

    # ------------------------------------------------------------------ the site

    def start_server(self, block: Block) -> None:
        self.stop_server()
        self.server_log = self.logs / f"server-{block.line}.log"
        with self.server_log.open("wb") as log:
            self.server = subprocess.Popen(
                ["bash", "-c", block.text],
                cwd=self.project,
                env={**self.environment, "PORT": str(self.port)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: stopping it reaches uvicorn, as Ctrl-C would.
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise self._fail(
                    block.line,
                    f"the site did not start (exit code {self.server.poll()}):\n"
                    f"{self.server_log.read_text(errors='replace')}",
                )
            time.sleep(0.1)

    def stop_server(self) -> None:
        """Ctrl-C, then a kill if it does not stop in time."""
        server, self.server = self.server, None
        if server is None or server.poll() is not None:
            return
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=STOP_TIMEOUT)

    def _site(self, line: int) -> Browser:
        if self.server is None or self.server.poll() is not None:
            log = self.server_log.read_text(errors="replace") if self.server_log else ""
            raise self._fail(line, f"the site is not running:\n{log}")
        return self.browser

    def check_page(self, block: Block) -> None:
        path = block.options["page"]
        status = int(block.options.get("status", "200"))
        text = self._site(block.line).page_text(path, status)
        for expected in _lines(block.text):
            if not _contains(text, expected):
                raise self._fail(block.line, f"{path} does not show {expected!r}:\n{text}")

    def directive(self, directive: Directive) -> None:
        if directive.verb == "stop":
            self.stop_server()
            return
        browser = self._site(directive.line)
        arguments = directive.arguments
        if directive.verb == "login":
            browser.log_in(*arguments)
        elif directive.verb == "admin-add":
            browser.admin_add(arguments[0], json.loads(arguments[1]))
        elif directive.verb == "chat":
            self.transcript.chats.append(browser.chat(arguments[0]))
        elif directive.verb == "lacks":
            path, *absent = arguments
            text = browser.page_text(path)
            shown = [words for words in absent if _contains(text, words)]
            if shown:
                raise self._fail(directive.line, f"{path} still shows {shown}:\n{text}")

    def close(self) -> None:
        try:
            self.stop_server()
        finally:
            self.browser.close()


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _contains(text: str, expected: str) -> bool:
    pattern = ".*?".join(re.escape(part.strip()) for part in expected.split("…"))
    return re.search(pattern, text) is not None
