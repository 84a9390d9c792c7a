"""`bandstand new` from the built wheel: a project written by the installed command, in a
virtual environment of its own (bandstand from the wheel, never this checkout), passes its own
`make test` and `make lint`, and `make run` serves it; without the demos, then with them.

Slow (a wheel, a virtual environment, two projects' installs and test runs): one test, so that
the wheel and the environment are made once even when the suite runs in several workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from uv import find_uv_bin

from bandstand import __version__
from bandstand.cli import write_project
from tests.support import PROJECT_ROOT
from tests.support.postgres_servers import free_port

pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(900)]

# What a new terminal has: none of this run's settings, no PYTHONPATH, no virtual environment;
# but the way to the package index (certificates, proxies, pip's and uv's own settings).
KEPT_VARIABLES = {"HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "CI", "SSL_CERT_FILE", "SSL_CERT_DIR"}
KEPT_PREFIXES = ("PIP_", "UV_", "REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
START_TIMEOUT = 120.0  # `make run` migrates and loads the demo data before it serves


def clean_environment() -> dict[str, str]:
    environ = {
        name: value
        for name, value in os.environ.items()
        if name in KEPT_VARIABLES or name.upper().startswith(KEPT_PREFIXES)
    }
    folders = os.environ["PATH"].split(os.pathsep)
    outside = [folder for folder in folders if not Path(folder).is_relative_to(PROJECT_ROOT)]
    environ["PATH"] = os.pathsep.join(outside)
    return environ


def run(*command: str | Path, cwd: Path) -> str:
    """Run `command` in a clean environment; its output, or a failure that shows it."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command} exited with {result.returncode}:\n{output}"
    return output


def build_wheel(folder: Path) -> Path:
    command = ("pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir")
    run(sys.executable, "-m", *command, folder, PROJECT_ROOT, cwd=PROJECT_ROOT)
    (wheel,) = folder.iterdir()
    assert wheel.name == f"bandstand-{__version__}-py3-none-any.whl"
    return wheel


def install(wheel: Path, venv: Path) -> Path:
    """A new virtual environment (with pip, which the projects' Makefiles use) and the wheel
    in it, with the versions this checkout is tested with."""
    uv = find_uv_bin()
    run(uv, "venv", "--quiet", "--seed", "--python", sys.executable, venv, cwd=venv.parent)
    python = venv / "bin" / "python"
    lock = PROJECT_ROOT / "requirements" / "lock.txt"
    run(uv, "pip", "install", "--quiet", "--python", python, "--constraint", lock, wheel, cwd=venv)
    return venv


def files_of(project: Path) -> dict[str, bytes]:
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in project.rglob("*")
        if path.is_file()
    }


@contextmanager
def make_run(project: Path, venv: Path, log: Path) -> Iterator[str]:
    """`make run` on a free port (migrations, demo data, uvicorn); the site's address."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "run", f"VENV={venv}", f"PORT={port}"],
            cwd=project,
            env=clean_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make and the uvicorn it starts, stopped together
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(f"{base}/healthz"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"make run did not serve:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_a_project_from_the_wheel_passes_its_own_tests_and_serves(tmp_path: Path) -> None:
    venv = install(build_wheel(tmp_path / "dist"), tmp_path / "venv")
    projects = {"site": False, "site-with-demos": True}
    for name, demo in projects.items():
        run(venv / "bin" / "bandstand", "new", *(["--demo"] if demo else []), name, cwd=tmp_path)
        # The wheel carries what a checkout writes: the same files, byte for byte.
        write_project(tmp_path / "from-checkout" / name, demo=demo)
        assert files_of(tmp_path / name) == files_of(tmp_path / "from-checkout" / name)

    for name, demo in projects.items():
        project = tmp_path / name
        # The project's Python finds the installed bandstand, not this checkout's.
        found = run(
            venv / "bin" / "python",
            "-c",
            "import bandstand; print(bandstand.__file__)",
            cwd=project,
        )
        assert Path(found.strip()).is_relative_to(venv)
        # The first installs the projects' dependencies (the same for both) into the environment.
        output = run("make", "test", "lint", f"VENV={venv}", cwd=project)
        assert " passed" in output

        with make_run(project, venv, tmp_path / f"{name}.log") as base:
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
            home = httpx.get(f"{base}/")
            assert home.status_code == 200
            assert "<h1>Welcome to Site" in home.text
            assert ('href="/products"' in home.text) == demo
