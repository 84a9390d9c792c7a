"""Every DATABASE_URL the README shows for a host parses into an engine config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import trustme

from bandstand.database.url import PostgresDatabase, parse_database_url
from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.engine_independent

README = (PROJECT_ROOT / "README.md").read_text()
HOST_TABLE = README.split("What each host hands you", 1)[1].split("\n\n", 2)[1]
URLS = re.findall(r"`(postgres(?:ql)?://[^`]+)`", HOST_TABLE)


def test_the_readme_lists_the_hosts() -> None:
    for host in ("Leapcell", "Supabase", "Neon", "Fly.io", "Railway", "Render", "Heroku"):
        assert f"| {host}" in HOST_TABLE
    assert len(URLS) >= 9


@pytest.mark.parametrize("url", URLS)
def test_readme_url_parses(url: str, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    url = url.replace("/etc/ssl/db-ca.pem", str(ca))  # the example's CA file, made real

    database = parse_database_url(url)

    assert isinstance(database, PostgresDatabase)
    assert database.connect_kwargs["statement_cache_size"] == 0
    assert "PASSWORD" not in database.redacted_url
