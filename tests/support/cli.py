"""The Piccolo CLI, run from the project folder as a person would, from sync or async tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio

from tests.support import PROJECT_ROOT

PICCOLO = str(Path(sys.executable).parent / "piccolo")


async def piccolo(*args: str, **environ: str) -> subprocess.CompletedProcess[bytes]:
    """From an async test, on the suite's own database (unless `environ` says otherwise)."""
    return await anyio.run_process(
        [PICCOLO, *args], cwd=PROJECT_ROOT, env={**os.environ, **environ}, check=False
    )
