"""Run `piccolo project check` as a person would, and read its findings back."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import anyio
from anyio.abc import SocketAttribute, SocketStream

from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO
from tests.support.mandatory import skip_unless_ci

_GROUPS = {"INFO:": "info", "WARNINGS:": "warning", "ERRORS:": "error"}
_LINE = re.compile(r"  (?P<id>[a-z]+\.[EWI]\d{3}): (?P<message>.*)")
_HINT = re.compile(r"      HINT: (?P<hint>.*)")

STRONG_SECRET_KEY = "6Yq2vJw0N_h3xLr8TzPa1cKuE5mBsD7gWfQnRo9iXt4"
# Settings that pass every --deploy check but the two about data on this instance's disk
# (the suite runs on a local SQLite file and folder); a test changes one thing.
PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": STRONG_SECRET_KEY,
    "DEBUG": "false",
    "ALLOWED_HOSTS": "bandstand.example",
    "FORWARDED_ALLOW_IPS": "*",
    "UVICORN_FORWARDED_ALLOW_IPS": "",
    "UVICORN_SSL_CERTFILE": "",
    "UVICORN_PROXY_HEADERS": "",
    "EMAIL_BACKEND": "smtp",
    "SITE_URL": "https://bandstand.example",
}


@dataclass(frozen=True)
class Reported:
    level: str
    message: str
    hint: str | None


@dataclass(frozen=True)
class CheckRun:
    returncode: int
    stdout: str
    stderr: str
    findings: dict[str, Reported]

    def level(self, finding_id: str) -> str:
        assert finding_id in self.findings, self.explain()
        return self.findings[finding_id].level

    def ids(self, level: str) -> set[str]:
        return {key for key, found in self.findings.items() if found.level == level}

    def explain(self) -> str:
        return f"exit {self.returncode}\n{self.stdout}\n{self.stderr}"


def parse(
    result: subprocess.CompletedProcess[bytes] | subprocess.CompletedProcess[str],
) -> CheckRun:
    stdout = result.stdout if isinstance(result.stdout, str) else result.stdout.decode()
    stderr = result.stderr if isinstance(result.stderr, str) else (result.stderr or b"").decode()
    findings: dict[str, Reported] = {}
    level, last = None, None
    for line in stdout.splitlines():
        if line in _GROUPS:
            level = _GROUPS[line]
        elif level and (match := _LINE.fullmatch(line)):
            last = match["id"]
            findings[last] = Reported(level, match["message"], None)
        elif last and (hint := _HINT.fullmatch(line)):
            findings[last] = Reported(findings[last].level, findings[last].message, hint["hint"])
    return CheckRun(result.returncode, stdout, stderr, findings)


async def run_check(*args: str, **environ: str) -> CheckRun:
    """`piccolo project check` from an async test."""
    process = await anyio.run_process(
        [PICCOLO, "project", "check", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **environ},
        check=False,
    )
    return parse(process)


def run_check_sync(*args: str, **environ: str) -> CheckRun:
    """The same, for module-scoped fixtures (sync, outside the blocking-call detector)."""
    result = subprocess.run(
        [PICCOLO, "project", "check", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return parse(result)


def non_loopback_address() -> str:
    """An IPv4 address of this machine that is not loopback: connections to it look remote."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            # UDP connect sends nothing; it only picks the interface that routes there.
            probe.connect(("198.51.100.1", 9))
            address: str = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        skip_unless_ci("this machine has no non-loopback IPv4 address to test a remote peer")
    return address


@asynccontextmanager
async def forwarder(listen_host: str, target_port: int) -> AsyncIterator[int]:
    """A TCP relay on `listen_host` to 127.0.0.1:`target_port`; yields its port.

    A server on loopback reached through it looks, to the client, like one on another machine.
    """

    async def one_way(source: SocketStream, target: SocketStream, done: anyio.Event) -> None:
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            async for chunk in source:
                await target.send(chunk)
        done.set()

    async def relay(client: SocketStream) -> None:
        done = anyio.Event()
        async with (
            client,
            await anyio.connect_tcp("127.0.0.1", target_port) as upstream,
            anyio.create_task_group() as group,
        ):
            group.start_soon(one_way, client, upstream, done)
            group.start_soon(one_way, upstream, client, done)
            await done.wait()  # either side gone: the relay is over
            group.cancel_scope.cancel()

    listener = await anyio.create_tcp_listener(local_host=listen_host, local_port=0)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, relay)
        yield listener.extra(SocketAttribute.local_port)
        group.cancel_scope.cancel()
