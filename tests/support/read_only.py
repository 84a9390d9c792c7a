"""Run a command as a host without a writable disk runs the app: the whole file system
read-only (the project folder included), and one fresh, empty temp folder the only place to
write (TMPDIR points there).

A private mount namespace (`unshare --mount`, root only) makes it so for that command and its
children alone; the rest of the machine doesn't see it. The temp folder is a new tmpfs on a
folder the caller made beforehand (a mount point must exist, and nothing can be made once the
disk is read-only), not on /tmp: a checkout under /tmp would vanish beneath it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support import PROJECT_ROOT
from tests.support.mandatory import skip_unless_ci

# $1 is the temp folder, $2 the project; the command follows. The project is made read-only
# on its own too, in case it lies on a file system of its own (a tmpfs /tmp, say).
_REMOUNT = (
    'temp="$1"; project="$2"; shift 2; '
    "mount --bind / / && mount -o remount,bind,ro / "
    '&& mount --bind "$project" "$project" && mount -o remount,bind,ro "$project" '
    '&& mount -t tmpfs -o size=256m,mode=1777 tmpfs "$temp" '
    '&& TMPDIR="$temp" exec "$@"'
)


def on_a_read_only_disk(*argv: str, temp: Path) -> list[str]:
    """`argv`, wrapped to run with the disk read-only but for `temp`, an empty writable tmpfs
    mounted on that (existing) folder."""
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        _REMOUNT,
        "sh",
        str(temp),
        str(PROJECT_ROOT),
        *argv,
    ]


def require_read_only_disks() -> None:
    """Skip (fail in CI) where mount namespaces can't be made: not root, or no unshare."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        skip_unless_ci("read-only disks are simulated with unshare --mount, which needs root")
    temp = Path(tempfile.mkdtemp(prefix="bandstand-probe-"))
    try:
        probe = subprocess.run(
            on_a_read_only_disk(
                "sh",
                "-c",
                f'! touch "{PROJECT_ROOT}/read-only-probe" 2>/dev/null && touch "$TMPDIR/ok"',
                temp=temp,
            ),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    if probe.returncode != 0:
        skip_unless_ci(f"cannot simulate a read-only disk here: {probe.stderr.strip()}")
