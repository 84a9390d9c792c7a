"""The e-mail tests' SMTP server, started outside the event loop (it writes certificates)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.smtp_server import Security, SMTPServer, smtp_server


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SMTPServer]:
    """A plain server without a login, unless the test asks for others with `smtp_kinds`."""
    kind: tuple[Security, bool] = getattr(request, "param", ("plain", False))
    security, login = kind
    with smtp_server(tmp_path, security, login=login) as running:
        yield running
