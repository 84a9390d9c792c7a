"""A real SMTP server on loopback (aiosmtpd, in a thread of its own) that keeps what it receives:
plain, STARTTLS, or TLS from the first byte, with or without a login."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.postgres_servers import free_port

Security = Literal["plain", "starttls", "ssl"]
USERNAME = "mailer"
PASSWORD = "mail-password"


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # As it was written: SMTP's CRLF line ends back to Python's.
        content = (envelope.original_content or b"").replace(b"\r\n", b"\n")
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 OK"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    accepted = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    # handled=False: the server answers a refusal itself (535).
    return AuthResult(success=accepted, handled=False)


@dataclass(frozen=True)
class SMTPServer:
    security: Security
    port: int
    ca_cert: Path
    received: list[Received]

    def client_tls(self) -> ssl.SSLContext:
        """What a client that trusts this server's authority uses."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


@contextmanager
def smtp_server(
    directory: Path, security: Security = "plain", *, login: bool = False
) -> Iterator[SMTPServer]:
    """A server for `localhost` whose certificate is from a fresh authority in `directory`.
    With `login`, it accepts mail only after AUTH as USERNAME/PASSWORD, which it takes only
    over TLS."""
    authority = trustme.CA()
    ca_cert = directory / "smtp-ca.pem"
    authority.cert_pem.write_to_path(str(ca_cert))
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_tls)
    handler = _Handler()
    port = free_port()
    options: dict[str, Any] = {}
    if security == "starttls":
        options.update(tls_context=server_tls, require_starttls=True)
    if login:
        options.update(authenticator=_authenticate, auth_required=True)
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_tls if security == "ssl" else None,
        server_hostname="localhost",
        **options,
    )
    controller.start()
    try:
        yield SMTPServer(security, port, ca_cert, handler.received)
    finally:
        controller.stop()


def smtp_kinds(*cases: tuple[Security, bool]) -> pytest.MarkDecorator:
    """The kinds of server a test runs against (tests/email's `server` fixture), each as
    (security, whether it wants a login)."""
    ids = [security + ("-login" if login else "") for security, login in cases]
    return pytest.mark.parametrize("server", cases, indirect=True, ids=ids)
