"""The PostgreSQL database and the PgBouncer a setup runs on."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres_servers import free_port

# The comment on the databases this check makes: the only ones it drops without --force.
MARKER = "piccolo-suite throwaway"


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server that lets `user` in without a password and create databases."""

    host: str
    port: int
    user: str

    def url(self, database: str, *, port: int | None = None, query: str = "") -> str:
        url = f"postgresql://{self.user}@{self.host}:{port or self.port}/{database}"
        return f"{url}?{query}" if query else url


def psql(server: Server, *sql: str, database: str = "postgres") -> str:
    command = ["psql", "--no-psqlrc", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
    command += ["-h", server.host, "-p", str(server.port), "-U", server.user, "-d", database]
    for statement in sql:
        command += ["-c", statement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {' '.join(sql)}\n{result.stderr}")
    return result.stdout.strip()


@contextlib.contextmanager
def throwaway_database(server: Server, name: str, *, force: bool, keep: bool) -> Iterator[str]:
    """A new, empty database `name`, dropped afterwards unless `keep`. An existing database of
    that name is dropped first only if this check made it, or with `force`."""
    found = psql(  # "exists:<its comment>" if the database exists, else nothing
        server,
        "SELECT 'exists:' || coalesce(shobj_description(oid, 'pg_database'), '') "
        f"FROM pg_database WHERE datname = '{name}'",
    )
    if found and found != f"exists:{MARKER}" and not force:
        raise SystemExit(
            f"database {name!r} exists and was not made by this check: drop it, or pass --force"
        )
    psql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(server, f'CREATE DATABASE "{name}"', f"COMMENT ON DATABASE \"{name}\" IS '{MARKER}'")
    try:
        yield name
    finally:
        if not keep:
            with contextlib.suppress(RuntimeError):
                psql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pgbouncer_ini(server: Server, base: Path, port: int, pool_size: int) -> str:
    return (
        "[databases]\n"
        f"* = host={server.host} port={server.port}\n"
        "\n[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        f"unix_socket_dir = {base}\n"
        f"logfile = {base / 'pgbouncer.log'}\n"
        "auth_type = trust\n"
        f"auth_file = {base / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 1000\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )


def _wait_for_port(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            output = log.read_text() if log.exists() else ""
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {output}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def pgbouncer(server: Server, executable: str, pool_size: int, log_copy: Path) -> Iterator[int]:
    """A PgBouncer in transaction mode in front of `server`, on a free loopback port; its log
    is copied to `log_copy` when it stops. Run as root, it runs as the `postgres` user (it
    refuses to run as root)."""
    account = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="piccolo-suite-pgbouncer-"))
    port = free_port()
    (base / "userlist.txt").write_text(f'"{server.user}" ""\n')
    (base / "pgbouncer.ini").write_text(_pgbouncer_ini(server, base, port, pool_size))
    if account is not None:
        for path in [base, *base.iterdir()]:
            os.chown(path, account.pw_uid, account.pw_gid)
    process = subprocess.Popen(
        [executable, str(base / "pgbouncer.ini")],
        cwd=base,
        user=account.pw_uid if account else None,
        group=account.pw_gid if account else None,
        extra_groups=[] if account else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(process, port, base / "pgbouncer.log")
        yield port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if (base / "pgbouncer.log").exists():
            shutil.copy2(base / "pgbouncer.log", log_copy)
        shutil.rmtree(base, ignore_errors=True)
