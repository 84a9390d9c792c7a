"""A malformed setting stops start-up with one clear line, never a traceback."""

import os
import subprocess
import sys

import pytest

from bandstand.testing.database import run_piccolo
from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.engine_independent


def _import_main(**environ: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import main"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not valid"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"ENVIRONMENT": "production", "SECRET_KEY": ""}, "SECRET_KEY must be set"),
    ],
)
def test_bad_setting_stops_the_app_with_one_line(environ: dict[str, str], message: str) -> None:
    result = _import_main(**environ)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bandstand: configuration error: ")
    assert message in lines[0]


def test_bad_setting_stops_the_piccolo_cli_with_one_line() -> None:
    result = run_piccolo("migrations", "check", database_url="postgres://u@h/db?foo=1")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "unknown DATABASE_URL parameter 'foo'" in result.stderr


WEB_STACK = ("litestar", "uvicorn", "rich", "piccolo_admin")
# `piccolo project --help`, then which of WEB_STACK it imported.
COMMAND_IMPORTS = f"""
import sys
from piccolo.main import main
sys.argv = ["piccolo", "project", "--help"]
try:
    main()
finally:
    print(sorted({{name.split(".")[0] for name in sys.modules}} & {set(WEB_STACK)!r}))
"""


def test_a_command_starts_without_importing_the_web_stack() -> None:
    # Piccolo imports every app's commands, and the features' tables, tasks and demo data, to
    # run any one command (a release, a migration); the routes, the server and the progress
    # bars come when a command needs them (what that saves: docs/performance.md).
    result = subprocess.run(
        [sys.executable, "-c", COMMAND_IMPORTS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "worker" in result.stdout, result.stdout + result.stderr  # the commands were listed
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
