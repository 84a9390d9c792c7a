"""`piccolo project serve` as a platform's start command: PORT, WEB_CONCURRENCY worker
processes, X-Forwarded-* taken only from trusted proxies, a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.commands.running import environment, piccolo, stop, wait_until_healthy
from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO
from tests.support.postgres_servers import free_port

pytestmark = pytest.mark.engine_independent

CLIENT = "203.0.113.7"  # what a proxy says the client was
PROXIED = {"x-forwarded-proto": "https", "x-forwarded-for": CLIENT}


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('serve')}/serve.sqlite3"
    migrated = piccolo("migrations", "forwards", "all", env={"DATABASE_URL": url})
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    return url


class Served:
    def __init__(self, process: subprocess.Popen[bytes], base: str, log: Path) -> None:
        self.process, self.base, self.log = process, base, log


Serve = Callable[..., Served]


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Serve]:
    """Start `piccolo project serve` with the test's environment; stopped afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**environ: str) -> Served:
        port = free_port()
        env = environment(DATABASE_URL=database_url, PORT=str(port), LOG_LEVEL="INFO", **environ)
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [PICCOLO, "project", "serve"],
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, process, log)
        return Served(process, base, log)

    yield start
    for process in started:
        stop(process)


def admin_login_over_proxy(base: str) -> httpx.Response:
    """A POST that Piccolo Admin's CSRF check treats differently over https: it checks the
    Origin only then. A foreign origin over https is refused (403) before the credentials are
    looked at; over http the login itself answers (401)."""
    headers = {**PROXIED, "origin": "https://evil.example"}
    with httpx.Client(base_url=base, headers=headers) as client:
        client.get("/admin/")
        return client.post(
            "/admin/public/login/",
            json={"username": "nobody", "password": "wrong-password"},
            headers={"X-CSRFToken": client.cookies["csrftoken"]},
        )


def stop_cleanly(served: Served) -> str:
    """SIGTERM, as a platform stops an instance: the app shuts down and the process ends. The
    worker supervisor exits 0; a single server re-raises the signal once it has shut down, as
    uvicorn does, so that whoever started it sees why it ended."""
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=45) in (0, -signal.SIGTERM)
    log = served.log.read_text()
    assert "Application shutdown complete." in log
    return log


def children(pid: int) -> list[tuple[int, str]]:
    """The processes whose parent is `pid`, with their command lines (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        # Fields after the command name (which may contain spaces) start at its closing ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append((int(entry.name), command))
    return found


def test_serves_with_workers_trusts_the_local_proxy_and_stops_on_sigterm(serve: Serve) -> None:
    served = serve(WEB_CONCURRENCY="2", FORWARDED_ALLOW_IPS="")  # empty: the default, 127.0.0.1

    workers = [pid for pid, command in children(served.process.pid) if "spawn_main" in command]
    assert len(workers) == 2
    assert httpx.get(f"{served.base}/healthz", headers=PROXIED).status_code == 200
    # From 127.0.0.1, trusted by default: the scheme is https and the client the proxy's.
    refused = admin_login_over_proxy(served.base)
    assert refused.status_code == 403
    assert refused.text == "Referer or origin is incorrect"

    log = stop_cleanly(served)
    assert served.process.returncode == 0  # the supervisor
    assert log.count("Application shutdown complete.") == 2
    assert f'{CLIENT}:0 - "GET /healthz HTTP/1.1" 200' in log
    assert "Uvicorn running on http://0.0.0.0:" in log
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


def test_forwarded_headers_from_an_untrusted_address_are_ignored(serve: Serve) -> None:
    served = serve(FORWARDED_ALLOW_IPS="192.0.2.1")

    assert httpx.get(f"{served.base}/healthz", headers=PROXIED).status_code == 200
    answered = admin_login_over_proxy(served.base)  # plain http: no Origin check
    assert answered.status_code == 401
    assert "Login failed" in answered.text

    log = stop_cleanly(served)
    assert "127.0.0.1:" in log
    assert f"{CLIENT}:0" not in log


@pytest.mark.parametrize(
    ("environ", "args", "message"),
    [
        ({"PORT": "eighty"}, (), "serve: PORT='eighty' is not valid: expected a whole number"),
        ({"PORT": "70000"}, (), "serve: PORT='70000' is not valid"),
        ({"WEB_CONCURRENCY": "0"}, (), "serve: WEB_CONCURRENCY='0' is not valid"),
        ({}, ("--port=-1",), "serve: --port='-1' is not valid"),
    ],
)
def test_invalid_settings_stop_it_with_a_message(
    environ: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    result = piccolo("project", "serve", *args, env=environ)

    assert result.returncode == 1
    assert message in result.stderr


def test_a_taken_port_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = piccolo("project", "serve", f"--port={port}", "--host=0.0.0.0")

    assert result.returncode == 1
    assert f"serve: port {port} on 0.0.0.0 is already in use" in result.stderr
    assert "Traceback" not in result.stderr
