import pytest

from bandstand.hosts import AllowedHostNames

pytestmark = pytest.mark.engine_independent


@pytest.mark.parametrize(
    ("hosts", "name", "allowed"),
    [
        (("localhost",), "localhost", True),
        (("localhost",), "LOCALHOST", True),
        (("localhost",), "evil.example", False),
        (("*.example.com",), "www.example.com", True),
        (("*.example.com",), "example.com.evil.net", False),
        (("[::1]",), "::1", True),
        (("*",), "anything.example", True),
        ((), "localhost", False),
    ],
)
def test_admin_origin_check_uses_allowed_hosts(
    hosts: tuple[str, ...], name: str, allowed: bool
) -> None:
    assert (name in AllowedHostNames(hosts)) is allowed
