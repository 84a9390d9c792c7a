"""Throwaway PostgreSQL servers (with or without TLS) and a PgBouncer for the test-suite.

Everything runs on loopback with free ports and its own temporary directory, so it
never touches a system cluster, and everything is torn down on exit even after a
failed test.  PostgreSQL and PgBouncer both refuse to run as root, so when the tests
run as root the servers run as the `postgres` user, and their files are handed to it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote, urlencode

import trustme

APP_USER = "bandstand"
APP_PASSWORD = "bandstand-pw"
APP_DATABASE = "bandstand"
SUPERUSER_PASSWORD = "postgres-pw"
SERVER_OS_USER = "postgres"
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 30.0


# ---------------------------------------------------------------- finding binaries


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    # Sort /usr/lib/postgresql/9.6 below /usr/lib/postgresql/15, which a string sort would not.
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name))


def find_postgres_bin(name: str) -> Path | None:
    """The PostgreSQL program `name` from PATH, else from the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which(name)
    if on_path is not None:
        return Path(on_path)
    # Debian keeps the server programs off PATH, one directory per major version.
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for bin_dir in versions:
        candidate = bin_dir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_pgbouncer() -> Path | None:
    """The pgbouncer program from PATH, else Debian's /usr/sbin one (sbin is often off PATH)."""
    on_path = shutil.which("pgbouncer")
    if on_path is not None:
        return Path(on_path)
    for candidate in (Path("/usr/sbin/pgbouncer"), Path("/usr/local/sbin/pgbouncer")):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def missing_prerequisites(*, pgbouncer: bool = False) -> str | None:
    """Why the harness cannot run here (for a skip message), or None when it can."""
    missing = [name for name in ("initdb", "pg_ctl", "psql") if find_postgres_bin(name) is None]
    if missing:
        return (
            f"PostgreSQL server binaries ({', '.join(missing)}) not found: "
            "apt-get install postgresql"
        )
    if pgbouncer and find_pgbouncer() is None:
        return "pgbouncer not found: apt-get install pgbouncer"
    if _running_as_root():
        try:
            pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            return f"running as root but there is no '{SERVER_OS_USER}' user to run servers as"
    return None


def _require(path: Path | None, name: str) -> Path:
    if path is None:
        raise RuntimeError(f"{name} not found (see missing_prerequisites())")
    return path


# ---------------------------------------------------------------- running as postgres


def _running_as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class _Identity:
    """Whom to run server programs as; None fields mean: as ourselves."""

    user: int | None = None
    group: int | None = None
    extra_groups: list[int] | None = None


def _server_identity() -> _Identity:
    # Switching user in subprocess itself, not with `runuser`: runuser answers SIGTERM by
    # passing it on and then sleeping 2 s before it exits, which slows every teardown.
    if not _running_as_root():
        return _Identity()
    account = pwd.getpwnam(SERVER_OS_USER)
    return _Identity(account.pw_uid, account.pw_gid, [])


def _give_to_server_user(path: Path) -> None:
    """Let the server user own `path` and everything below it (a no-op unless root)."""
    if not _running_as_root():
        return
    account = pwd.getpwnam(SERVER_OS_USER)
    for entry in [path, *path.rglob("*")]:
        os.chown(entry, account.pw_uid, account.pw_gid)


def _run(argv: list[str], *, cwd: Path, what: str, log: Path | None = None) -> None:
    # cwd: the server user may not be allowed into the caller's working directory.
    who = _server_identity()
    result = subprocess.run(
        argv,
        cwd=cwd,
        user=who.user,
        group=who.group,
        extra_groups=who.extra_groups,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n"
            f"{result.stdout}{result.stderr}{_tail(log)}"
        )


def _tail(log: Path | None, lines: int = 60) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- {log.name} ---\n" + "\n".join(text)


def make_server_owned_dir(prefix: str) -> Path:
    """A new temporary directory that the server user owns (the caller removes it)."""
    # Under the system temp dir, not pytest's tmp_path: pytest's base is mode 0700 for
    # root, and the server user must be able to reach its own files.
    path = Path(tempfile.mkdtemp(prefix=prefix))
    _give_to_server_user(path)
    return path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def _url(
    *, user: str, password: str, host: str, port: int, database: str, query: dict[str, str]
) -> str:
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
    url = f"postgresql://{credentials}@{host}:{port}/{quote(database, safe='')}"
    return f"{url}?{urlencode(query)}" if query else url


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Certificates:
    """A CA and a server certificate for `localhost` only, as PEM files."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_certificates(directory: Path) -> Certificates:
    """Write a fresh CA and a server certificate valid for `localhost` (not for 127.0.0.1).

    Leaving 127.0.0.1 out of the certificate lets a test reach the same server by IP to
    provoke a hostname mismatch.
    """
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    leaf = authority.issue_cert("localhost")
    certificates = Certificates(
        ca_cert=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
    )
    authority.cert_pem.write_to_path(str(certificates.ca_cert))
    certificates.server_cert.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(certificates.server_key))
    # PostgreSQL refuses a key that anybody but its owner (the server user) can read.
    certificates.server_key.chmod(0o600)
    for path in (certificates.ca_cert, certificates.server_cert):
        path.chmod(0o644)
    _give_to_server_user(directory)
    return certificates


# ---------------------------------------------------------------- PostgreSQL


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 with an app role and database.

    With `ssl=True` the server accepts TCP only over TLS (hostssl lines only), using
    `certificates` or, if none are given, a fresh localhost-only set of its own. `settings`
    go to postgresql.conf after the harness' own.
    """

    host = LOOPBACK
    user = APP_USER
    password = APP_PASSWORD
    database = APP_DATABASE

    def __init__(
        self,
        *,
        ssl: bool = False,
        certificates: Certificates | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.ssl = ssl
        self._certificates = certificates
        self._settings = settings or {}
        self.port = 0
        self._dir: Path | None = None

    @property
    def ca_cert(self) -> Path | None:
        return self._certificates.ca_cert if self.ssl and self._certificates else None

    @property
    def certificates(self) -> Certificates | None:
        return self._certificates if self.ssl else None

    @property
    def socket_dir(self) -> Path:
        return self._base / "socket"

    @property
    def _base(self) -> Path:
        if self._dir is None:
            raise RuntimeError("the server is not running")
        return self._dir

    def url(self, host: str = "localhost", **query: str) -> str:
        """A postgresql:// URL for the app role; `query` becomes the (encoded) query string."""
        return _url(
            user=self.user,
            password=self.password,
            host=host,
            port=self.port,
            database=self.database,
            query=query,
        )

    def __enter__(self) -> Self:
        self._dir = make_server_owned_dir("bandstand-pg-")
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def _start(self) -> None:
        base = self._base
        data, log = base / "data", base / "postgres.log"
        self.socket_dir.mkdir()
        if self.ssl and self._certificates is None:
            self._certificates = make_certificates(base / "certs")
        password_file = base / "superuser-password"
        password_file.write_text(SUPERUSER_PASSWORD + "\n")
        _give_to_server_user(base)

        _run(
            [
                str(_require(find_postgres_bin("initdb"), "initdb")),
                "--pgdata",
                str(data),
                "--username=postgres",
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=base,
            what="initdb",
        )
        self.port = free_port()
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(self._config())
        (data / "pg_hba.conf").write_text(self._hba())

        self.start()
        self._create_app_database(log)

    def start(self) -> None:
        """Start the server on its port and data; after `stop()`, a restart as an outage ends."""
        base = self._base
        log = base / "postgres.log"
        _run(
            [
                str(_require(find_postgres_bin("pg_ctl"), "pg_ctl")),
                "--pgdata",
                str(base / "data"),
                "--log",
                str(log),
                "--wait",
                "--timeout",
                str(int(START_TIMEOUT)),
                "start",
            ],
            cwd=base,
            what="starting PostgreSQL",
            log=log,
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server, keeping its data, port and certificates for `start()`: an outage.

        `fast` is what a managed database's restart does (sessions are told, then cut);
        `immediate` is a crash.
        """
        _run(
            [
                str(_require(find_postgres_bin("pg_ctl"), "pg_ctl")),
                "--pgdata",
                str(self._base / "data"),
                "--mode",
                mode,
                "--wait",
                "stop",
            ],
            cwd=self._base,
            what="stopping PostgreSQL",
            log=self._base / "postgres.log",
        )

    def _config(self) -> str:
        settings = {
            "listen_addresses": f"'{LOOPBACK}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "password_encryption": "'scram-sha-256'",
            "max_connections": "200",
            # Durability is pointless for a server that lives for one test session.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "ssl": "on" if self.ssl else "off",
        }
        if self.ssl:
            certificates = _require_certificates(self._certificates)
            settings["ssl_cert_file"] = f"'{certificates.server_cert}'"
            settings["ssl_key_file"] = f"'{certificates.server_key}'"
        settings |= self._settings
        return "\n# bandstand test harness\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())

    def _hba(self) -> str:
        # The local line is the harness' own admin door; clients only get TCP lines.
        tcp = "hostssl" if self.ssl else "host"
        return (
            "local all all trust\n"
            f"{tcp} all all 127.0.0.1/32 scram-sha-256\n"
            f"{tcp} all all ::1/128 scram-sha-256\n"
        )

    def _create_app_database(self, log: Path) -> None:
        psql = str(_require(find_postgres_bin("psql"), "psql"))
        # Separate -c options: CREATE DATABASE cannot share a transaction with anything.
        _run(
            [
                psql,
                "--no-psqlrc",
                "--quiet",
                "-v",
                "ON_ERROR_STOP=1",
                "--host",
                str(self.socket_dir),
                "--port",
                str(self.port),
                "--username",
                "postgres",
                "--dbname",
                "postgres",
                "-c",
                f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'",
                "-c",
                f"CREATE DATABASE {self.database} OWNER {self.user}",
            ],
            cwd=self._base,
            what="creating the app role and database",
            log=log,
        )

    def _stop(self) -> None:
        if self._dir is None:
            return
        data = self._dir / "data"
        pg_ctl = find_postgres_bin("pg_ctl")
        if pg_ctl is not None and (data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                _run(
                    [str(pg_ctl), "--pgdata", str(data), "--mode", "immediate", "--wait", "stop"],
                    cwd=self._dir,
                    what="stopping PostgreSQL",
                )
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None


def _require_certificates(certificates: Certificates | None) -> Certificates:
    if certificates is None:
        raise RuntimeError("TLS needs certificates")
    return certificates


# ---------------------------------------------------------------- PgBouncer


class PgBouncer:
    """A PgBouncer in transaction mode in front of a TLS `PostgresServer`.

    TLS on both sides: clients must use TLS (the server's localhost certificate), and
    PgBouncer verifies the server as `localhost`. PgBouncer 1.18 has no prepared
    statement support in transaction mode, which is what the tests rely on.
    """

    host = LOOPBACK
    user = APP_USER
    password = APP_PASSWORD
    database = APP_DATABASE

    def __init__(
        self,
        server: PostgresServer,
        *,
        default_pool_size: int = 2,
        settings: dict[str, str] | None = None,
    ) -> None:
        """`settings`: more pgbouncer.ini lines for the [pgbouncer] section, e.g.
        {"server_login_retry": "1"}."""
        if server.certificates is None:
            raise ValueError("PgBouncer needs a PostgresServer started with ssl=True")
        self.server = server
        self.certificates: Certificates = server.certificates
        self.default_pool_size = default_pool_size
        self.settings = dict(settings or {})
        self.port = 0
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def ca_cert(self) -> Path:
        return self.certificates.ca_cert

    def url(self, host: str = "localhost", **query: str) -> str:
        """A postgresql:// URL for the app role through PgBouncer, like PostgresServer.url."""
        return _url(
            user=self.user,
            password=self.password,
            host=host,
            port=self.port,
            database=self.database,
            query=query,
        )

    def __enter__(self) -> Self:
        self._dir = make_server_owned_dir("bandstand-pgbouncer-")
        try:
            self._start(self._dir)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def _start(self, base: Path) -> None:
        self.port = free_port()
        log = base / "pgbouncer.log"
        (base / "userlist.txt").write_text(f'"{self.user}" "{self.password}"\n')
        (base / "userlist.txt").chmod(0o600)
        (base / "pgbouncer.ini").write_text(self._config(base, log))
        _give_to_server_user(base)
        self.start()

    def start(self) -> None:
        """Run PgBouncer on its port and configuration; after `stop()`, a restart."""
        if self._dir is None:
            raise RuntimeError("pgbouncer is not set up")
        base, log = self._dir, self._dir / "pgbouncer.log"
        pgbouncer = str(_require(find_pgbouncer(), "pgbouncer"))
        who = _server_identity()
        self._process = subprocess.Popen(
            [pgbouncer, str(base / "pgbouncer.ini")],
            cwd=base,
            user=who.user,
            group=who.group,
            extra_groups=who.extra_groups,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_serving_tls(log)

    def _config(self, base: Path, log: Path) -> str:
        c = self.certificates
        return (
            "[databases]\n"
            f"{self.database} = host=localhost port={self.server.port} dbname={self.database}\n"
            "\n[pgbouncer]\n"
            f"listen_addr = {LOOPBACK}\n"
            f"listen_port = {self.port}\n"
            f"unix_socket_dir = {base}\n"
            f"logfile = {log}\n"
            "auth_type = scram-sha-256\n"
            f"auth_file = {base / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.default_pool_size}\n"
            "max_client_conn = 500\n"
            "ignore_startup_parameters = extra_float_digits\n"
            "client_tls_sslmode = require\n"
            f"client_tls_cert_file = {c.server_cert}\n"
            f"client_tls_key_file = {c.server_key}\n"
            f"client_tls_ca_file = {c.ca_cert}\n"
            "server_tls_sslmode = verify-full\n"
            f"server_tls_ca_file = {c.ca_cert}\n"
        ) + "".join(f"{key} = {value}\n" for key, value in self.settings.items())

    def _wait_until_serving_tls(self, log: Path) -> None:
        context = ssl.create_default_context(cafile=str(self.certificates.ca_cert))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"pgbouncer exited with {self._process.returncode} at start-up{_tail(log)}"
                )
            try:
                _tls_handshake(self.port, context)
                return
            except OSError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer never served TLS: {error}{_tail(log)}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop PgBouncer at once, cutting its clients off, keeping its set-up for `start()`."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            # SIGTERM is PgBouncer's immediate shutdown (SIGINT would wait for clients).
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _stop(self) -> None:
        self.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


_SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def _tls_handshake(port: int, context: ssl.SSLContext) -> None:
    """Ask for TLS the way a PostgreSQL client does, and complete the handshake."""
    with socket.create_connection((LOOPBACK, port), timeout=2) as raw:
        raw.sendall(_SSL_REQUEST)
        if raw.recv(1) != b"S":
            raise ConnectionRefusedError("the server declined TLS")
        with context.wrap_socket(raw, server_hostname="localhost"):
            pass
