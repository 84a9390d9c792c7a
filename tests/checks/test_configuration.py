"""Settings that load but do not do what they seem to."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from bandstand.checks.configuration import check_configuration, read_dotenv_names
from bandstand.settings import load_settings
from tests.checks.helpers import forwarder, run_check

pytestmark = pytest.mark.engine_independent


async def test_an_idle_limit_longer_than_the_session_is_a_warning() -> None:
    run = await run_check(SESSION_IDLE_MINUTES="600", SESSION_MAX_AGE_HOURS="10")

    assert run.level("configuration.W001") == "warning"
    assert "SESSION_IDLE_MINUTES=600" in run.findings["configuration.W001"].message
    assert run.returncode == 0, run.explain()


async def test_an_llm_key_sent_over_plain_http_is_a_warning() -> None:
    run = await run_check(LLM_API_KEY="sk-test", LLM_BASE_URL="http://llm.example/v1")

    assert run.level("configuration.W002") == "warning"
    assert run.returncode == 0, run.explain()


def test_an_llm_key_over_https_or_to_this_machine_is_fine() -> None:
    for url in ("https://llm.example/v1", "http://127.0.0.1:8080/v1", "http://localhost/v1"):
        settings = load_settings({"LLM_API_KEY": "sk-test", "LLM_BASE_URL": url}, env_file=None)
        ids = {finding.id for finding in check_configuration(settings, dotenv_names=())}
        assert "configuration.W002" not in ids, url


async def test_s3_over_plain_http_to_another_machine_is_a_warning(
    s3_server: dict[str, str], remote_address: str
) -> None:
    # The test's S3 server listens on loopback; reached through this machine's network address it
    # is "another machine" to the check, and the upload probe still goes through.
    port = int(s3_server["s3_endpoint_url"].rsplit(":", 1)[1])
    async with forwarder(remote_address, port) as relay_port:
        settings = {name.upper(): value for name, value in s3_server.items()}
        settings["S3_ENDPOINT_URL"] = f"http://{remote_address}:{relay_port}"
        run = await run_check(**settings)

    assert run.level("configuration.W003") == "warning"
    assert run.level("storage.I001") == "info"
    assert run.returncode == 0, run.explain()


async def test_a_misspelt_name_in_dotenv_is_a_warning(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    await anyio.Path(dotenv).write_text(
        "SECRET_KYE=abc\nDEBUG=false\nPGPASSWORD=x\nFORWARDED_ALLOW_IPS=*\n"
    )
    names = await read_dotenv_names(dotenv)
    findings = check_configuration(load_settings({}, env_file=None), dotenv_names=names)

    found = {finding.id: finding for finding in findings}
    assert found["configuration.W004"].level.value == "warning"
    # Settings, libpq's and uvicorn's variables are known; only the typo is named.
    assert ".env sets SECRET_KYE, which" in found["configuration.W004"].message
    assert await read_dotenv_names(tmp_path / "missing.env") == []
