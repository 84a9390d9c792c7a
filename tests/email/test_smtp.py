"""The SMTP backend against a real server on loopback: plain, STARTTLS with a login, and TLS
from the first byte; each refusal a DeliveryError that names the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage

import anyio
import pytest

from bandstand.email.backends import DeliveryError, SMTPBackend
from bandstand.email.messages import compose
from bandstand.settings import Settings, load_settings
from tests.support.smtp_server import PASSWORD, USERNAME, SMTPServer, smtp_kinds

pytestmark = pytest.mark.engine_independent


def smtp_settings(port: int, **changes: str) -> Settings:
    return load_settings(
        {"EMAIL_BACKEND": "smtp", "EMAIL_HOST": "localhost", "EMAIL_PORT": str(port), **changes},
        env_file=None,
    )


def a_message() -> EmailMessage:
    return compose(
        subject="Réglages vérifiés",
        to=["Zoë <zoe@example.com>", "ops@example.org"],
        text="Plain part: 5 < 6 & ça va.\n",
        html="<p>HTML part</p>\n",
        from_email="Site <site@example.com>",
    )


# What turns on each kind of TLS.
TLS_SETTING = {"ssl": "EMAIL_USE_SSL", "starttls": "EMAIL_USE_TLS"}


@smtp_kinds(("plain", False))
async def test_a_message_arrives_whole(server: SMTPServer) -> None:
    await SMTPBackend(smtp_settings(server.port)).send(a_message())

    [received] = server.received
    assert received.sender == "site@example.com"
    assert received.recipients == ["zoe@example.com", "ops@example.org"]
    message = received.message
    assert message["Subject"] == "Réglages vérifiés"
    assert message["To"] == "Zoë <zoe@example.com>, ops@example.org"
    assert message["Message-ID"].endswith("@example.com>")
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert text.get_content() == "Plain part: 5 < 6 & ça va.\n"
    assert html is not None
    assert html.get_content() == "<p>HTML part</p>\n"


@smtp_kinds(("starttls", True))
async def test_starttls_and_a_login(server: SMTPServer) -> None:
    settings = smtp_settings(
        server.port, EMAIL_USE_TLS="true", EMAIL_HOST_USER=USERNAME, EMAIL_HOST_PASSWORD=PASSWORD
    )
    await SMTPBackend(settings, tls_context=server.client_tls()).send(a_message())

    assert [r.recipients for r in server.received] == [["zoe@example.com", "ops@example.org"]]


@smtp_kinds(("starttls", True))
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param(
            {"EMAIL_HOST_USER": USERNAME, "EMAIL_HOST_PASSWORD": PASSWORD},
            "STARTTLS",
            id="no-starttls",
        ),
        pytest.param(
            {"EMAIL_USE_TLS": "true", "EMAIL_HOST_USER": USERNAME, "EMAIL_HOST_PASSWORD": "wrong"},
            "535",
            id="wrong-password",
        ),
        pytest.param({"EMAIL_USE_TLS": "true"}, "530", id="no-login"),
    ],
)
async def test_what_the_server_refuses_is_a_delivery_error(
    server: SMTPServer, changes: dict[str, str], reason: str
) -> None:
    backend = SMTPBackend(smtp_settings(server.port, **changes), tls_context=server.client_tls())
    with pytest.raises(DeliveryError, match=rf"SMTP localhost:{server.port}: .*{reason}"):
        await backend.send(a_message())
    assert server.received == []


@smtp_kinds(("ssl", False))
async def test_tls_from_the_first_byte(server: SMTPServer) -> None:
    settings = smtp_settings(server.port, EMAIL_USE_SSL="true")
    await SMTPBackend(settings, tls_context=server.client_tls()).send(a_message())

    assert len(server.received) == 1


@smtp_kinds(("ssl", False), ("starttls", False))
async def test_a_certificate_from_an_unknown_authority_is_refused(server: SMTPServer) -> None:
    settings = smtp_settings(server.port, **{TLS_SETTING[server.security]: "true"})
    # The system's authorities, which never signed this server's certificate.
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        await SMTPBackend(settings).send(a_message())
    assert server.received == []


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A server that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    listener = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        listener.close()
        await listener.wait_closed()


async def test_a_server_that_never_answers_times_out(silent_port: int) -> None:
    backend = SMTPBackend(smtp_settings(silent_port, EMAIL_TIMEOUT="0.3"))
    with anyio.fail_after(30), pytest.raises(DeliveryError, match=r"[Tt]imed out"):
        await backend.send(a_message())
