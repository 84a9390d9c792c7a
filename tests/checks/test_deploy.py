"""`--deploy`: each production setting provoked on its own, against settings that pass."""

from __future__ import annotations

import pytest

from bandstand.checks.deploy import check_deploy
from bandstand.settings import load_settings
from tests.checks.helpers import PRODUCTION, CheckRun, run_check, run_check_sync

pytestmark = pytest.mark.engine_independent

ON_THIS_DISK = {"deploy.W005", "deploy.W006"}  # the suite's SQLite file and media folder


@pytest.fixture(scope="module")
def baseline() -> CheckRun:
    return run_check_sync("--deploy=true", **PRODUCTION)


def test_production_settings_pass_with_exit_0(baseline: CheckRun) -> None:
    assert baseline.returncode == 0, baseline.explain()
    assert not baseline.ids("error"), baseline.explain()
    assert {key for key in baseline.ids("warning") if key.startswith("deploy.")} == ON_THIS_DISK


def test_a_sqlite_database_is_a_warning(baseline: CheckRun) -> None:
    assert baseline.level("deploy.W005") == "warning"
    settings = load_settings(PRODUCTION, env_file=None)
    elsewhere = check_deploy(settings, database_kind="postgres", environ=PRODUCTION)
    assert "deploy.W005" not in {finding.id for finding in elsewhere}


def test_uploads_in_a_folder_are_a_warning(baseline: CheckRun) -> None:
    assert baseline.level("deploy.W006") == "warning"
    settings = load_settings({**PRODUCTION, "STORAGE_BACKEND": "database"}, env_file=None)
    elsewhere = check_deploy(settings, database_kind="postgres", environ=PRODUCTION)
    assert "deploy.W006" not in {finding.id for finding in elsewhere}


# Production itself refuses the development key, a short one and DEBUG at start-up, so those
# three are provoked with ENVIRONMENT=development, as someone checking before the switch.
CASES = [
    pytest.param("deploy.E001", {"ENVIRONMENT": "development", "SECRET_KEY": ""}, id="E001"),
    pytest.param(
        "deploy.E002",
        {"ENVIRONMENT": "development", "SECRET_KEY": "twenty-characters-xx"},
        id="E002",
    ),
    pytest.param("deploy.W001", {"SECRET_KEY": "abcdabcdabcdabcdabcdabcdabcdabcdabcd"}, id="W001"),
    pytest.param("deploy.E003", {"ENVIRONMENT": "development", "DEBUG": "true"}, id="E003"),
    pytest.param("deploy.E004", {"ENVIRONMENT": "development"}, id="E004"),
    pytest.param("deploy.W002", {"ALLOWED_HOSTS": "*"}, id="W002"),
    pytest.param("deploy.W003", {"ALLOWED_HOSTS": "localhost,127.0.0.1"}, id="W003"),
    pytest.param("deploy.W004", {"FORWARDED_ALLOW_IPS": ""}, id="W004"),
    pytest.param("deploy.W007", {"LOG_FORMAT": "text"}, id="W007"),
    pytest.param("deploy.E005", {"EMAIL_BACKEND": "console"}, id="E005-console"),
    pytest.param("deploy.E005", {"EMAIL_BACKEND": "memory"}, id="E005-memory"),
    pytest.param("deploy.W008", {"SITE_URL": "http://127.0.0.1:8000"}, id="W008-local"),
    pytest.param("deploy.W008", {"SITE_URL": "http://bandstand.example"}, id="W008-http"),
    pytest.param("deploy.W009", {"OPS_PAGE_ENABLED": "true"}, id="W009"),
]


@pytest.mark.parametrize(("finding_id", "change"), CASES)
def test_each_production_problem_is_found(
    baseline: CheckRun, finding_id: str, change: dict[str, str]
) -> None:
    assert finding_id not in baseline.findings
    environ = {**PRODUCTION, **change}

    # What the command runs, in this process: the command itself is run by the tests around.
    settings = load_settings(environ, env_file=None)
    findings = {
        finding.id: finding
        for finding in check_deploy(settings, database_kind="sqlite", environ=environ)
    }

    assert findings[finding_id].level.value == ("error" if ".E" in finding_id else "warning")
    assert findings[finding_id].hint


@pytest.mark.parametrize(
    ("finding_id", "change", "exit_code"),
    [
        ("deploy.E004", {"ENVIRONMENT": "development"}, 1),
        ("deploy.W007", {"LOG_FORMAT": "text"}, 0),
    ],
)
async def test_an_error_fails_the_command_and_a_warning_does_not(
    finding_id: str, change: dict[str, str], exit_code: int
) -> None:
    run = await run_check("--deploy=true", **{**PRODUCTION, **change})

    assert run.findings[finding_id].hint, run.explain()
    assert run.returncode == exit_code, run.explain()


@pytest.mark.parametrize(
    ("environ", "warned"),
    [
        pytest.param({}, True, id="nothing-trusted"),
        pytest.param({"FORWARDED_ALLOW_IPS": "10.0.0.1"}, False, id="proxy-address"),
        pytest.param({"UVICORN_FORWARDED_ALLOW_IPS": "*"}, False, id="uvicorn-variable"),
        pytest.param({"UVICORN_SSL_CERTFILE": "/etc/tls/cert.pem"}, False, id="uvicorn-tls"),
        pytest.param(
            {"FORWARDED_ALLOW_IPS": "*", "UVICORN_PROXY_HEADERS": "false"}, True, id="headers-off"
        ),
    ],
)
def test_the_https_rule(environ: dict[str, str], warned: bool) -> None:
    settings = load_settings(PRODUCTION, env_file=None)
    ids = {
        finding.id for finding in check_deploy(settings, database_kind="postgres", environ=environ)
    }
    assert ("deploy.W004" in ids) is warned
