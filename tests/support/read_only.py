"""Run a command as a host without a writable disk runs the app: the whole file system
read-only (the project folder included), and a fresh, empty /tmp the only place to write.

A private mount namespace (`unshare --mount`, root only) makes it so for that command and its
children alone; the rest of the machine doesn't see it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from tests.support.mandatory import skip_unless_ci

_REMOUNT = (
    "mount --bind / / && mount -o remount,bind,ro / "
    '&& mount -t tmpfs -o size=256m,mode=1777 tmpfs /tmp && exec "$@"'
)


def on_a_read_only_disk(*argv: str) -> list[str]:
    """`argv`, wrapped to run with / read-only and /tmp an empty writable tmpfs."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _REMOUNT, "sh", *argv]


def require_read_only_disks() -> None:
    """Skip (fail in CI) where mount namespaces can't be made: not root, or no unshare."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        skip_unless_ci("read-only disks are simulated with unshare --mount, which needs root")
    probe = subprocess.run(
        on_a_read_only_disk("sh", "-c", "! touch /read-only-probe 2>/dev/null && touch /tmp/ok"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        skip_unless_ci(f"cannot simulate a read-only disk here: {probe.stderr.strip()}")
