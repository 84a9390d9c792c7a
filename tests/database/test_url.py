"""DATABASE_URL parsing: the URL shapes PaaS dashboards hand out, and the ones that must fail."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from bandstand.database.ssl import ssl_for
from bandstand.database.url import (
    DEFAULT_CONNECT_TIMEOUT,
    DatabaseURLError,
    PostgresDatabase,
    SQLiteDatabase,
    parse_database_url,
)

pytestmark = pytest.mark.engine_independent

PASSWORD = "s3cr3t-PW"  # in every bad PostgreSQL URL below; must never reach a message


@dataclass(frozen=True)
class Context:
    """What an SSLContext is expected to enforce."""

    verify_mode: ssl.VerifyMode
    check_hostname: bool


UNVERIFIED = Context(ssl.CERT_NONE, check_hostname=False)
VERIFY_CA = Context(ssl.CERT_REQUIRED, check_hostname=False)
VERIFY_FULL = Context(ssl.CERT_REQUIRED, check_hostname=True)
# No password in the URL: looked up once at parse time (PGPASSWORD, ~/.pgpass), else empty.
DEFAULTS = {"password": "", "statement_cache_size": 0, "timeout": DEFAULT_CONNECT_TIMEOUT}


@pytest.fixture(autouse=True)
def empty_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    # libpq's ~/.postgresql/root.crt fallback must not depend on the machine running the tests.
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("PGPASSWORD", "PGPASSFILE", "PGUSER", "PGHOST", "PGPORT", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    return home


def test_password_from_pgpass_is_read_once_at_parse_time(empty_home: Path) -> None:
    pgpass = empty_home / ".pgpass"
    pgpass.write_text("db.example.com:5432:app:alice:from-pgpass\n*:*:*:*:fallback\n")
    pgpass.chmod(0o600)

    exact = parse_database_url("postgresql://alice@db.example.com/app")
    other = parse_database_url("postgresql://bob@elsewhere/other")
    given = parse_database_url("postgresql://alice:in-url@db.example.com/app")

    assert isinstance(exact, PostgresDatabase)
    assert isinstance(other, PostgresDatabase)
    assert isinstance(given, PostgresDatabase)
    assert exact.connect_kwargs["password"] == "from-pgpass"
    assert other.connect_kwargs["password"] == "fallback"
    assert given.connect_kwargs["password"] == "in-url"


def test_pgpassword_wins_over_pgpass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "from-env")
    database = parse_database_url("postgresql://alice@db.example.com/app")
    assert isinstance(database, PostgresDatabase)
    assert database.connect_kwargs["password"] == "from-env"


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def assert_ssl(actual: Any, expected: Context | str | bool) -> None:
    if isinstance(expected, Context):
        assert isinstance(actual, ssl.SSLContext)
        assert (actual.verify_mode, actual.check_hostname) == (
            expected.verify_mode,
            expected.check_hostname,
        )
    else:
        assert actual == expected


@pytest.mark.parametrize(
    ("url", "expected", "expected_ssl"),
    [
        pytest.param(
            "postgresql://user:pass@xxx.leapcellpool.com:6438/db?sslmode=require",
            {
                "host": "xxx.leapcellpool.com",
                "port": 6438,
                "user": "user",
                "password": "pass",
                "database": "db",
            },
            UNVERIFIED,
            id="leapcell",
        ),
        pytest.param(
            "postgres://postgres.abcdefghijkl:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
            {
                "host": "aws-0-eu-central-1.pooler.supabase.com",
                "port": 6543,
                "user": "postgres.abcdefghijkl",
                "password": "pw",
                "database": "postgres",
            },
            "prefer",
            id="supabase-pooled",
        ),
        pytest.param(
            "postgres://postgres.abcdefghijkl:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
            "?pgbouncer=true",
            {
                "host": "aws-0-eu-central-1.pooler.supabase.com",
                "port": 6543,
                "user": "postgres.abcdefghijkl",
                "password": "pw",
                "database": "postgres",
            },
            "prefer",
            id="supabase-pgbouncer",
        ),
        pytest.param(
            "postgresql://user:pw@ep-cool-darkness-123456-pooler.eu-central-1.aws.neon.tech/neondb"
            "?sslmode=require&channel_binding=prefer",
            {
                "host": "ep-cool-darkness-123456-pooler.eu-central-1.aws.neon.tech",
                "user": "user",
                "password": "pw",
                "database": "neondb",
            },
            UNVERIFIED,
            id="neon-channel-binding-prefer",
        ),
        pytest.param(
            "postgres://postgres:pw@myapp-db.flycast:5432/myapp?sslmode=disable",
            {
                "host": "myapp-db.flycast",
                "port": 5432,
                "user": "postgres",
                "password": "pw",
                "database": "myapp",
            },
            False,
            id="fly",
        ),
        pytest.param(
            "postgresql://postgres:pw@containers-us-west-1.railway.app:5432/railway",
            {
                "host": "containers-us-west-1.railway.app",
                "port": 5432,
                "user": "postgres",
                "password": "pw",
                "database": "railway",
            },
            "prefer",
            id="railway",
        ),
        pytest.param(
            "postgresql://user:pw@dpg-abc123-a.oregon-postgres.render.com/db",
            {
                "host": "dpg-abc123-a.oregon-postgres.render.com",
                "user": "user",
                "password": "pw",
                "database": "db",
            },
            "prefer",
            id="render",
        ),
        pytest.param(
            "postgres://u:p@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d1",
            {
                "host": "ec2-1-2-3-4.compute-1.amazonaws.com",
                "port": 5432,
                "user": "u",
                "password": "p",
                "database": "d1",
            },
            "prefer",
            id="heroku",
        ),
        pytest.param(
            "postgresql+asyncpg://app:pw@localhost/app?ssl=require",
            {"host": "localhost", "user": "app", "password": "pw", "database": "app"},
            UNVERIFIED,
            id="sqlalchemy-asyncpg",
        ),
        pytest.param(
            "postgresql+psycopg://app@localhost/app",
            {"host": "localhost", "user": "app", "database": "app"},
            "prefer",
            id="sqlalchemy-psycopg",
        ),
        pytest.param(
            "POSTGRES+PSYCOPG2://app@localhost/app?ssl=false",
            {"host": "localhost", "user": "app", "database": "app"},
            False,
            id="sqlalchemy-psycopg2-ssl-false",
        ),
        pytest.param(
            "postgresql://us%65r:p%40ss%2Fw%3Ard@db.example.com/my%20db",
            {
                "host": "db.example.com",
                "user": "user",
                "password": "p@ss/w:rd",
                "database": "my db",
            },
            "prefer",
            id="percent-encoded",
        ),
        pytest.param(
            "postgresql://user:p@ss/w:rd@db.example.com/db",
            {"host": "db.example.com", "user": "user", "password": "p@ss/w:rd", "database": "db"},
            "prefer",
            id="unencoded-password-the-last-at-wins",
        ),
        pytest.param(
            "postgresql://u@[2001:db8::1]:5433/db",
            {"host": "2001:db8::1", "port": 5433, "user": "u", "database": "db"},
            "prefer",
            id="ipv6",
        ),
        pytest.param(
            "postgresql://[::1]/db",
            {"host": "::1", "database": "db"},
            "prefer",
            id="ipv6-default-port",
        ),
        pytest.param(
            "postgresql://user@/db?host=/var/run/postgresql",
            {"host": "/var/run/postgresql", "user": "user", "database": "db"},
            "prefer",
            id="unix-socket-query",
        ),
        pytest.param(
            "postgresql://%2Fvar%2Frun%2Fpostgresql:5433/db",
            {"host": "/var/run/postgresql", "port": 5433, "database": "db"},
            "prefer",
            id="unix-socket-encoded-host",
        ),
        pytest.param("postgresql://", {}, "prefer", id="all-defaults"),
        pytest.param("postgres:///app", {"database": "app"}, "prefer", id="database-only"),
        pytest.param(
            "postgresql://u@db.internal/app?statement_cache_size=100&application_name=bandstand"
            "&options=-c%20search_path%3Dapp&connect_timeout=2.5&target_session_attrs=read-write"
            "&channel_binding=disable&sslmode=allow",
            {
                "host": "db.internal",
                "user": "u",
                "database": "app",
                "statement_cache_size": 100,
                "server_settings": {
                    "application_name": "bandstand",
                    "options": "-c search_path=app",
                },
                "timeout": 2.5,
                "target_session_attrs": "read-write",
            },
            "allow",
            id="every-knob",
        ),
        pytest.param(
            "postgresql://u@h/d?sslmode=require&ssl=require",
            {"host": "h", "user": "u", "database": "d"},
            UNVERIFIED,
            id="ssl-and-sslmode-agree",
        ),
        pytest.param(
            "postgresql://u@h/d?ssl=true",
            {"host": "h", "user": "u", "database": "d"},
            VERIFY_FULL,
            id="asyncpg-ssl-true-verifies-against-the-os-store",
        ),
        pytest.param(
            "postgresql://u@h/d?sslrootcert=system",
            {"host": "h", "user": "u", "database": "d"},
            VERIFY_FULL,
            id="system-ca-defaults-to-verify-full",
        ),
    ],
)
def test_postgres_url(
    url: str, expected: dict[str, Any], expected_ssl: Context | str | bool
) -> None:
    database = parse_database_url(url)

    assert isinstance(database, PostgresDatabase)
    kwargs = dict(database.connect_kwargs)
    assert_ssl(kwargs.pop("ssl"), expected_ssl)
    assert kwargs == {**DEFAULTS, **expected}


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        (
            "postgres://u:p%40ss@h:5432/d?sslmode=disable",
            "postgres://u:***@h:5432/d?sslmode=disable",
        ),
        ("postgresql+asyncpg://u:p@ss@h/d", "postgresql+asyncpg://u:***@h/d"),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
        ("postgresql:///d", "postgresql:///d"),
    ],
)
def test_redacted_url(url: str, redacted: str) -> None:
    database = parse_database_url(url)

    assert isinstance(database, PostgresDatabase)
    assert database.redacted_url == redacted
    assert "p@ss" not in repr(database)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///db.sqlite3", Path("db.sqlite3")),
        ("sqlite:///data/app.db", Path("data/app.db")),
        ("sqlite:////var/lib/app/app.db", Path("/var/lib/app/app.db")),
        ("sqlite+aiosqlite:///data/app.db", Path("data/app.db")),
        ("sqlite+aiosqlite:////var/lib/app/app.db", Path("/var/lib/app/app.db")),
        ("sqlite:///my%20app.db", Path("my app.db")),
    ],
)
def test_sqlite_url(url: str, path: Path) -> None:
    assert parse_database_url(url) == SQLiteDatabase(path=path)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://u:s3cr3t-PW@h/d", "scheme 'mysql' is not supported; accepted: postgres, "),
        ("postgresql+pg8000://u:s3cr3t-PW@h/d", "postgresql+asyncpg, postgresql+psycopg"),
        ("u:s3cr3t-PW@h:5432/d", "must start with a scheme"),
        ("postgresql:/u:s3cr3t-PW@h/d", "must start with a scheme"),
        ("postgresql://u:s3cr3t-PW@h:54x2/d", "port must be a number from 1 to 65535"),
        ("postgresql://u:s3cr3t-PW@h:70000/d", "port must be a number from 1 to 65535"),
        ("postgresql://u:s3cr3t-PW@h:0/d", "port must be a number from 1 to 65535"),
        ("postgresql://u:s3cr3t-PW@2001:db8::1/d", "port must be a number"),
        ("postgresql://u:s3cr3t-PW@[2001:db8::1/d", "write an IPv6 address as [::1]:5432"),
        ("postgresql://u:s3cr3t-PW@h1:5432,h2:5432/d", "multiple hosts are not supported"),
        ("postgresql://u:s3cr3t-PW@h/d?host=/tmp", "gives the host twice"),
        (
            "postgresql://u:s3cr3t-PW@h/d?foo=1",
            "unknown DATABASE_URL parameter 'foo'; accepted: application_name, channel_binding, "
            "connect_timeout, host, options, pgbouncer, ssl, sslcert, sslcrl, sslkey, sslmode, "
            "sslrootcert, statement_cache_size, target_session_attrs",
        ),
        ("postgresql://u:s3cr3t-PW@h/d?search_path=x", "unknown DATABASE_URL parameter 'search_pa"),
        ("postgresql://u:s3cr3t-PW@h/d?pool_size=5", "unknown DATABASE_URL parameter 'pool_size'"),
        ("postgresql://u:s3cr3t-PW@h/d?sslpassword=x", "unknown DATABASE_URL parameter 'sslpass"),
        (
            "postgresql://u:s3cr3t-PW@h/d?sslmode=require&sslmode=disable",
            "parameter 'sslmode' is given more than once",
        ),
        ("postgresql://u:s3cr3t-PW@h/d?sslmode", "parameter 'sslmode' needs a value"),
        ("postgresql://u:s3cr3t-PW@h/d?sslmode=required", "sslmode 'required' is not supported"),
        ("postgresql://u:s3cr3t-PW@h/d?ssl=yes", "ssl 'yes' is not supported; accepted: true,"),
        ("postgresql://u:s3cr3t-PW@h/d?sslmode=disable&ssl=true", "disagree; give only sslmode"),
        (
            "postgresql://u:s3cr3t-PW@h/d?statement_cache_size=-1",
            "statement_cache_size must be a non-negative integer, got '-1'",
        ),
        ("postgresql://u:s3cr3t-PW@h/d?statement_cache_size=lots", "non-negative integer"),
        (
            "postgresql://u:s3cr3t-PW@h/d?pgbouncer=true&statement_cache_size=100",
            "pgbouncer=true needs statement_cache_size=0",
        ),
        ("postgresql://u:s3cr3t-PW@h/d?pgbouncer=1", "pgbouncer '1' is not supported"),
        (
            "postgresql://u:s3cr3t-PW@ep-cool-darkness-123456-pooler.eu-central-1.aws.neon.tech/neondb"
            "?sslmode=require&channel_binding=require",
            "asyncpg does not support channel binding (SCRAM-SHA-256-PLUS); "
            "change it to channel_binding=prefer",
        ),
        ("postgresql://u:s3cr3t-PW@h/d?channel_binding=maybe", "accepted: disable, prefer"),
        ("postgresql://u:s3cr3t-PW@h/d?connect_timeout=0", "connect_timeout must be a positive"),
        ("postgresql://u:s3cr3t-PW@h/d?connect_timeout=soon", "connect_timeout must be a positive"),
        ("postgresql://u:s3cr3t-PW@h/d?target_session_attrs=master", "attrs 'master' is not"),
        (
            "postgresql://u:s3cr3t-PW@h/d?sslmode=verify-full",
            "sslmode=verify-full needs sslrootcert=<path to the CA> "
            "(or sslrootcert=system for the OS trust store)",
        ),
        ("postgresql://u:s3cr3t-PW@h/d?sslmode=verify-ca", "sslmode=verify-ca needs sslrootcert="),
        (
            "postgresql://u:s3cr3t-PW@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "sslrootcert file '/nonexistent/ca.pem' does not exist",
        ),
        (
            "postgresql://u:s3cr3t-PW@h/d?sslmode=require&sslcert=/nonexistent/client.crt",
            "sslcert file '/nonexistent/client.crt' does not exist",
        ),
        ("postgresql://u:s3cr3t-PW@h/d?sslkey=/some/client.key", "sslkey needs sslcert"),
        ("postgresql://u:s3cr3t-PW@h/d?sslmode=require&sslcrl=/some/crl.pem", "sslcrl needs"),
        (
            "postgresql://u:s3cr3t-PW@h/d?sslmode=require&sslrootcert=system",
            "sslrootcert=system needs sslmode=verify-full, not sslmode=require",
        ),
        ("postgresql://u:s3cr3t-PW@h/d#frag", "must not contain '#'"),
        # A password with an unencoded "?" puts the credentials in the query.
        ("postgresql://u:s3cr?3t-PW@h/d", "percent-encode special characters"),
        ("postgresql://u:s3cr3t-?PW@h/d?sslmode=require", "percent-encode special characters"),
        ("sqlite://", "SQLite DATABASE_URL needs a file path"),
        ("sqlite:///", "SQLite DATABASE_URL needs a file path"),
        ("sqlite:///:memory:", "SQLite DATABASE_URL needs a file path"),
        ("sqlite+aiosqlite://:memory:", "SQLite DATABASE_URL needs a file path"),
        ("sqlite://host/db.sqlite3", "must not name a host"),
        ("sqlite:///db.sqlite3?mode=ro", "SQLite DATABASE_URL takes no parameters"),
    ],
)
def test_bad_url(url: str, fragment: str) -> None:
    with pytest.raises(DatabaseURLError) as raised:
        parse_database_url(url)

    message = str(raised.value)
    assert fragment in message
    assert "\n" not in message
    for piece in (PASSWORD, "s3cr", "3t-PW", "PW"):
        assert piece not in message


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sslmode=verify-full", VERIFY_FULL),
        ("sslmode=verify-ca", VERIFY_CA),
        ("sslmode=require", VERIFY_CA),  # libpq: a CA given under require is used
        ("sslmode=prefer", VERIFY_CA),  # a context, so asyncpg makes TLS mandatory
        ("", VERIFY_CA),
    ],
)
def test_rootcert_is_loaded_and_used(
    query: str, expected: Context, ca: trustme.CA, ca_file: Path
) -> None:
    database = parse_database_url(f"postgresql://u@db.example.com/d?{query}&sslrootcert={ca_file}")

    assert isinstance(database, PostgresDatabase)
    context = database.connect_kwargs["ssl"]
    assert_ssl(context, expected)
    assert [cert["subject"] for cert in context.get_ca_certs()] == [ca_subject(ca)]


def test_home_rootcert_is_libpq_fallback(ca: trustme.CA, empty_home: Path) -> None:
    (empty_home / ".postgresql").mkdir()
    ca.cert_pem.write_to_path(str(empty_home / ".postgresql" / "root.crt"))

    database = parse_database_url("postgresql://u@db.example.com/d?sslmode=verify-full")

    assert isinstance(database, PostgresDatabase)
    context = database.connect_kwargs["ssl"]
    assert_ssl(context, VERIFY_FULL)
    assert [cert["subject"] for cert in context.get_ca_certs()] == [ca_subject(ca)]


def test_verify_full_context_really_verifies(ca: trustme.CA, ca_file: Path) -> None:
    server = server_context(ca, "db.example.com")
    context = ssl_for("verify-full", rootcert=str(ca_file), cert=None, key=None)
    assert isinstance(context, ssl.SSLContext)

    handshake(context, server, "db.example.com")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        handshake(context, server, "other.example.com")
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        handshake(context, server_context(trustme.CA(), "db.example.com"), "db.example.com")


def test_client_certificate_is_presented(ca: trustme.CA, ca_file: Path, tmp_path: Path) -> None:
    client = ca.issue_cert("bandstand")
    cert, key = tmp_path / "client.crt", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(cert))
    client.private_key_pem.write_to_path(str(key))
    server = server_context(ca, "db.example.com")
    server.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(server)

    database = parse_database_url(
        f"postgresql://u@db.example.com/d?sslmode=verify-full&sslrootcert={ca_file}"
        f"&sslcert={cert}&sslkey={key}"
    )

    assert isinstance(database, PostgresDatabase)
    handshake(database.connect_kwargs["ssl"], server, "db.example.com")


def test_unreadable_certificate_names_the_parameter(tmp_path: Path) -> None:
    not_a_cert = tmp_path / "ca.pem"
    not_a_cert.write_text("not a certificate")

    with pytest.raises(DatabaseURLError, match=r"sslrootcert file '.*ca\.pem' could not be loaded"):
        parse_database_url(f"postgresql://h/d?sslmode=verify-ca&sslrootcert={not_a_cert}")


@pytest.mark.parametrize("mode", ["allow", "prefer"])
def test_advisory_modes_stay_asyncpg_strings(mode: str) -> None:
    # asyncpg keeps its plaintext fallback only for a mode string, never for an SSLContext.
    assert ssl_for(mode, rootcert=None, cert=None, key=None) == mode


def test_ssl_for_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="sslmode 'on' is not supported"):
        ssl_for("on", rootcert=None, cert=None, key=None)


def ca_subject(ca: trustme.CA) -> Any:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(context)
    return context.get_ca_certs()[0]["subject"]


def server_context(ca: trustme.CA, hostname: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(hostname).configure_cert(context)
    return context


def handshake(client: ssl.SSLContext, server: ssl.SSLContext, hostname: str) -> None:
    """A TLS handshake in memory, no sockets: raises what the client or server rejects."""
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    client_side = client.wrap_bio(client_in, client_out, server_hostname=hostname)
    server_side = server.wrap_bio(server_in, server_out, server_side=True)
    for _ in range(10):
        finished = 0
        for side in (client_side, server_side):
            try:
                side.do_handshake()
                finished += 1
            except ssl.SSLWantReadError:
                pass
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if finished == 2:
            # TLS 1.3 verifies the client certificate after the client's handshake is done.
            client_side.write(b"ping")
            server_in.write(client_out.read())
            assert server_side.read(4) == b"ping"
            return
    raise AssertionError("TLS handshake did not finish")
