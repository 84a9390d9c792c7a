"""Where a message goes, as EMAIL_BACKEND says: stdout, a list in memory, or an SMTP server."""

from __future__ import annotations

import ssl
import sys
from email.message import EmailMessage
from typing import ClassVar, Protocol, TextIO

import aiosmtplib
import anyio.to_thread

from bandstand.settings import Settings


class DeliveryError(RuntimeError):
    """The message did not reach the mail server; sending it again may work."""


class EmailBackend(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class ConsoleBackend:
    """Development's default: each message, headers and body, printed, then a line of dashes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, message: EmailMessage) -> None:
        text = message.as_string(policy=message.policy.clone(linesep="\n"))
        await anyio.to_thread.run_sync(self._write, text)

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stdout  # read when sending: tests capture sys.stdout
        stream.write(f"{text}\n{'-' * 79}\n")
        stream.flush()


class MemoryBackend:
    """For tests: messages are kept, in order, in `MemoryBackend.outbox` (one list for the
    process, as Django's `mail.outbox`; the testing plugin's `mail_outbox` fixture empties it)."""

    outbox: ClassVar[list[EmailMessage]] = []

    async def send(self, message: EmailMessage) -> None:
        MemoryBackend.outbox.append(message)


class SMTPBackend:
    """One connection per message, with TLS as the settings say and a timeout on every step."""

    def __init__(self, settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        # None: the system's trusted authorities, and the host name checked.
        self._tls_context = tls_context

    async def send(self, message: EmailMessage) -> None:
        settings = self._settings
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.email_host,
                port=settings.email_port,
                username=settings.email_host_user or None,
                password=settings.email_host_password or None,
                use_tls=settings.email_use_ssl,
                # False, not aiosmtplib's default of "if offered": as Django, TLS is asked for.
                start_tls=settings.email_use_tls,
                timeout=settings.email_timeout,
                tls_context=self._tls_context,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"SMTP {settings.email_host}:{settings.email_port}: {error}"
            ) from error


def create_email_backend(settings: Settings) -> EmailBackend:
    if settings.email_backend == "smtp":
        return SMTPBackend(settings)
    if settings.email_backend == "memory":
        return MemoryBackend()
    return ConsoleBackend()
