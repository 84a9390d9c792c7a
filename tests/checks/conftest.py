"""Fixtures of the check tests."""

import pytest

from tests.checks.helpers import non_loopback_address


@pytest.fixture(scope="session")
def remote_address() -> str:
    """This machine's non-loopback IPv4 address (found outside any event loop)."""
    return non_loopback_address()
