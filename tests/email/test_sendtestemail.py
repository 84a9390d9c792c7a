"""`piccolo project sendtestemail`, run as an operator would to try the e-mail settings."""

from __future__ import annotations

import pytest

from tests.support.cli import piccolo
from tests.support.postgres_servers import free_port
from tests.support.smtp_server import SMTPServer

pytestmark = pytest.mark.engine_independent


async def test_the_console_backend_prints_it() -> None:
    result = await piccolo("project", "sendtestemail", "ops@example.com", EMAIL_BACKEND="console")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "To: ops@example.com\n" in out
    assert "Subject: Test message from " in out
    assert out.rstrip().endswith("sendtestemail: sent to ops@example.com")


async def test_it_reaches_an_smtp_server(server: SMTPServer) -> None:
    result = await piccolo(
        "project",
        "sendtestemail",
        "ops@example.com, dev@example.com",
        EMAIL_BACKEND="smtp",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(server.port),
        DEFAULT_FROM_EMAIL="site@example.com",
    )
    assert result.returncode == 0, result.stderr.decode()
    [received] = server.received
    assert received.recipients == ["ops@example.com", "dev@example.com"]
    assert received.sender == "site@example.com"
    assert "EMAIL_BACKEND=smtp" in received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("to", "environ", "error"),
    [
        pytest.param(
            "ops@example.com",
            {"EMAIL_BACKEND": "smtp", "EMAIL_HOST": "127.0.0.1"},
            "sendtestemail: SMTP 127.0.0.1:{port}: ",
            id="nothing-listening",
        ),
        pytest.param("not-an-address", {}, "is not a list of e-mail addresses", id="bad-address"),
    ],
)
async def test_a_failure_exits_1_with_the_reason(
    to: str, environ: dict[str, str], error: str
) -> None:
    port = str(free_port())
    result = await piccolo("project", "sendtestemail", to, EMAIL_PORT=port, **environ)
    assert result.returncode == 1
    assert error.format(port=port) in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
