"""CI tests every Python version the README claims, and fails when it cannot."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.engine_independent

FIND_PYTHON = PROJECT_ROOT / ".ci" / "find-python"


def claimed_versions() -> tuple[str, str]:
    """The oldest and newest Python the README promises."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    found = re.search(r"Python (3\.\d+)\N{EN DASH}(3\.\d+)", readme)
    assert found, "the README names the Python versions it supports"
    return found[1], found[2]


def find_python(version: str, path: Path, pyenv_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(FIND_PYTHON), version],
        env={"PATH": f"{path}:/usr/bin:/bin", "PYENV_ROOT": str(pyenv_root)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_ci_runs_the_suite_on_the_oldest_and_newest_python_claimed() -> None:
    oldest, newest = claimed_versions()
    project = (PROJECT_ROOT / "pyproject.toml").read_text()
    past_newest = f"3.{int(newest.split('.')[1]) + 1}"
    assert f'requires-python = ">={oldest},<{past_newest}"' in project
    run = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert f"py313=$(bash .ci/find-python {newest})" in run
    assert 'make test PYTHON="$py313"' in run


def test_a_missing_python_fails_ci(tmp_path: Path) -> None:
    result = find_python("3.13", tmp_path, tmp_path / "no-pyenv")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "CI needs Python 3.13" in result.stderr


def test_pyenvs_python_is_found(tmp_path: Path) -> None:
    interpreter = tmp_path / "pyenv" / "versions" / "3.13.4" / "bin" / "python3.13"
    interpreter.parent.mkdir(parents=True)
    interpreter.symlink_to(sys.executable)
    result = find_python("3.13", tmp_path / "empty", tmp_path / "pyenv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(interpreter)


def test_a_python_that_does_not_run_is_passed_over(tmp_path: Path) -> None:
    broken = tmp_path / "bin" / "python3.13"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\nexit 127\n")  # a pyenv shim for a version not installed
    broken.chmod(0o755)
    result = find_python("3.13", broken.parent, tmp_path / "no-pyenv")
    assert result.returncode == 1
    assert "CI needs Python 3.13" in result.stderr
